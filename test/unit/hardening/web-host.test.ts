import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_PATH, TOKEN_HEADER } from '../../../src-main/api/contract';
import { createEventHub } from '../../../src-main/api/events';
import type { Dispatch } from '../../../src-main/api/handlers';
import { startWebHost, type WebHost } from '../../../src-main/host/web-host';

/**
 * Issue 9, hardening of the local web host: without the session token, with a wrong one, from a
 * foreign Origin (even with the token) or through a foreign Host name (DNS rebinding), no request
 * reaches the API and no event stream opens; files outside the renderer are never served.
 */
let dir: string;
let host: WebHost;
const calls: unknown[] = [];
const dispatch: Dispatch = async (name) => {
  calls.push(name);
  return { ok: true, value: { name } } as never;
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-hardening-web-'));
  const renderer = path.join(dir, 'renderer');
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Mailvault</title>');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'not for browsers');
  host = await startWebHost({ rendererDir: renderer, dispatch, events: createEventHub() });
});

afterAll(async () => {
  await host?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function request(o: { method?: string; path: string; headers?: Record<string, string>; body?: string }) {
  const { port } = new URL(host.origin);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: o.method ?? 'GET',
          path: o.path,
          headers: o.headers,
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          // An event stream stays open: the status and headers are the answer.
          if (res.headers['content-type']?.startsWith('text/event-stream')) {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
            return void req.destroy();
          }
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end(o.body);
    },
  );
}

const post = (headers: Record<string, string>) =>
  request({
    method: 'POST',
    path: '/api/app.info',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });

describe('the web host', { timeout: 60_000 }, () => {
  it('serves the API with the token and our own Origin (the control case)', async () => {
    const ok = await post({ [TOKEN_HEADER]: host.token, origin: host.origin });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true });
  });

  it('refuses a missing, wrong, truncated or case-changed token, and a token passed in the URL', async () => {
    const before = calls.length;
    for (const headers of [
      {},
      { [TOKEN_HEADER]: '' },
      { [TOKEN_HEADER]: 'wrong' },
      { [TOKEN_HEADER]: host.token.slice(0, -1) },
      { [TOKEN_HEADER]: host.token.toUpperCase() },
      { authorization: `Bearer ${host.token}` },
    ]) {
      const reply = await post(headers as Record<string, string>);
      expect(reply.status, JSON.stringify(headers)).toBe(401);
    }
    const inUrl = await request({
      method: 'POST',
      path: `/api/app.info?token=${host.token}`,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(inUrl.status).toBe(401);
    const events = await request({ path: EVENTS_PATH });
    expect(events.status).toBe(401);
    expect(calls.length).toBe(before);
  });

  it('refuses foreign Origins even with the right token', async () => {
    const before = calls.length;
    for (const origin of [
      'https://evil.example',
      'http://127.0.0.1.evil.example',
      `http://127.0.0.1:${Number(new URL(host.origin).port) + 1}`,
      'null',
      'file://',
      `${host.origin}.evil.example`,
    ]) {
      const reply = await post({ [TOKEN_HEADER]: host.token, origin });
      expect(reply.status, origin).toBe(403);
    }
    const events = await request({
      path: EVENTS_PATH,
      headers: { [TOKEN_HEADER]: host.token, origin: 'https://evil.example' },
    });
    expect(events.status).toBe(403);
    expect(calls.length).toBe(before);
  });

  it('refuses a foreign Host name (DNS rebinding), even with the token', async () => {
    const { port } = new URL(host.origin);
    for (const name of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${Number(port) + 1}`]) {
      const reply = await post({ [TOKEN_HEADER]: host.token, host: name });
      expect(reply.status, name).toBe(403);
    }
  });

  it('never serves files outside the renderer, however the path is spelled', async () => {
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/renderer/../../secret.txt',
      '//etc/passwd',
      '/%00index.html',
    ]) {
      const reply = await request({ path: p });
      expect(reply.body, p).not.toContain('not for browsers');
      expect(reply.body, p).not.toContain('root:');
      expect(reply.status, p).not.toBe(200);
    }
  });

  it('sends the security headers and refuses framing', async () => {
    const page = await request({ path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });

  it('listens on loopback only', () => {
    expect(new URL(host.origin).hostname).toBe('127.0.0.1');
    expect(host.url).toMatch(/#token=/); // the token travels in the fragment, never to a server
    expect(new URL(host.url).search).toBe('');
  });
});
