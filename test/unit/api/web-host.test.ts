import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_HEADER } from '../../../src-main/api/contract';
import { startWebHost, type WebHost } from '../../../src-main/host/web-host';
import { fakeApi, FAKE_SERVERS } from './fake-api';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Raw HTTP, so a test can send any Host and Origin (fetch would not let it). */
function request(
  host: WebHost,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: string },
) {
  const { port } = new URL(host.origin);
  return new Promise<Reply>((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      method: o.method ?? 'GET',
      path: o.path,
      headers: o.headers,
      agent: false,
    };
    const req = http.request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const json = { 'content-type': 'application/json' };

describe('web host', () => {
  let dir: string;
  let host: WebHost;
  let api: ReturnType<typeof fakeApi>;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-web-host-'));
    const renderer = path.join(dir, 'renderer');
    fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Mailvault</title>');
    fs.writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'not for browsers');
    api = fakeApi();
    host = await startWebHost({ rendererDir: renderer, dispatch: api.dispatch, events: api.events });
  });

  afterEach(async () => {
    await host.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = (name: string, headers: Record<string, string>, body = '{}') =>
    request(host, { method: 'POST', path: `/api/${name}`, headers: { ...json, ...headers }, body });

  it('listens on 127.0.0.1 only, at a random port, with a random token in the URL fragment', async () => {
    const url = new URL(host.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(url.hash).toBe(`#token=${host.token}`);
    expect(host.token).toMatch(/^[\w-]{43}$/);
    const other = fakeApi();
    const second = await startWebHost({
      rendererDir: path.join(dir, 'renderer'),
      dispatch: other.dispatch,
      events: other.events,
    });
    expect(second.token).not.toBe(host.token);
    expect(second.origin).not.toBe(host.origin);
    await second.close();

    const addresses = [
      '::1',
      ...Object.values(os.networkInterfaces())
        .flat()
        .flatMap((i) => (i && !i.internal ? [i.address] : [])),
    ];
    for (const address of addresses) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: address, port: Number(url.port) });
        socket.once('connect', () => (socket.destroy(), resolve(false)));
        socket.once('error', () => resolve(true));
      });
      expect(refused, `reachable on ${address}`).toBe(true);
    }
  });

  it('answers requests that carry the token', async () => {
    const reply = await call('servers.list', { [TOKEN_HEADER]: host.token, origin: host.origin });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ ok: true, value: FAKE_SERVERS });
    expect(reply.headers['cache-control']).toBe('no-store');
    // Scripts on this machine send no Origin; the token alone lets them in.
    expect((await call('app.info', { [TOKEN_HEADER]: host.token })).status).toBe(200);
  });

  it('refuses a missing or wrong token', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { [TOKEN_HEADER]: '' },
      { [TOKEN_HEADER]: `${host.token}x` },
      { [TOKEN_HEADER]: 'x' },
    ];
    for (const headers of attempts) {
      const reply = await call('servers.list', { ...headers, origin: host.origin });
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    }
  });

  it('refuses another Origin, even with the token', async () => {
    const port = new URL(host.origin).port;
    for (const origin of [
      'http://evil.example',
      `http://127.0.0.1:${Number(port) + 1}`,
      'null',
      `https://127.0.0.1:${port}`,
    ]) {
      const reply = await call('servers.list', { [TOKEN_HEADER]: host.token, origin });
      expect(reply.status, origin).toBe(403);
      expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const reply = await request(host, { path: '/', headers: { host: 'evil.example:80' } });
    expect(reply.status).toBe(403);
    const api = await call('servers.list', {
      [TOKEN_HEADER]: host.token,
      host: `attacker.example:${new URL(host.origin).port}`,
    });
    expect(api.status).toBe(403);
  });

  it('answers malformed requests with error values', async () => {
    const auth = { [TOKEN_HEADER]: host.token };
    expect((await call('servers.delete', auth)).status).toBe(404);
    expect(JSON.parse((await call('servers.delete', auth)).body)).toMatchObject({
      error: { code: 'unknown-request' },
    });
    expect((await call('servers.list', auth, '{not json')).status).toBe(400);
    expect((await call('servers.list', auth, '{"extra":1}')).status).toBe(400);
    expect((await call('servers.list', { ...auth, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await call('servers.list', auth, JSON.stringify({ pad: 'x'.repeat(2 << 20) }))).status).toBe(413);
    expect((await request(host, { path: '/api/servers.list', headers: auth })).status).toBe(405);
  });

  it('serves the renderer, and nothing outside it', async () => {
    const index = await request(host, { path: '/' });
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>Mailvault</title>');
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect((await request(host, { path: '/assets/app.js' })).headers['content-type']).toMatch(
      /^text\/javascript/,
    );
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets',
      '/nope.js',
    ]) {
      const reply = await request(host, { path: p });
      expect(reply.status, p).toBe(404);
      expect(reply.body).not.toContain('not for browsers');
    }
    expect((await request(host, { method: 'DELETE', path: '/' })).status).toBe(405);
  });

  it('pushes events as server-sent events to callers with the token', async () => {
    const refused = await request(host, { path: '/api/events' });
    expect(refused.status).toBe(401);

    const { port } = new URL(host.origin);
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path: '/api/events',
          headers: { [TOKEN_HEADER]: host.token },
          agent: false,
        },
        (res) => {
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            // The stream says it is open before anything happens; emit only then.
            if (text === ': connected\n\n') api.events.emit('servers.changed', {});
            if (text.includes('event: servers.changed\n')) {
              req.destroy();
              resolve(text);
            }
          });
        },
      );
      req.on('error', reject);
    });
    expect(received).toContain('event: servers.changed\ndata: {}\n\n');
  });

  it('closes open event streams and frees its port on close', async () => {
    const { port } = new URL(host.origin);
    let closing: Promise<void> | undefined;
    const streamEnded = new Promise<void>((resolve) => {
      http.get(
        {
          host: '127.0.0.1',
          port,
          path: '/api/events',
          headers: { [TOKEN_HEADER]: host.token },
          agent: false,
        },
        (res) => {
          res.once('data', () => (closing = host.close()));
          res.on('end', () => resolve());
          res.resume();
        },
      );
    });
    await streamEnded;
    await closing;
    await expect(request(host, { path: '/' })).rejects.toThrow(/ECONNREFUSED/);
  });
});
