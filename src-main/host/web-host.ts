import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { EVENTS_PATH, TOKEN_HEADER, type ApiErrorCode, type ApiResult } from '../api/contract';
import type { EventHub } from '../api/events';
import { failure, type Dispatch } from '../api/handlers';
import { CONSOLE_CSP_HEADER } from './csp';

/**
 * The console over loopback HTTP, for any browser (and the end-to-end tests): the built renderer,
 * `POST /api/<request>` with a JSON body, and pushed events as server-sent events on
 * `GET /api/events`. Only this machine can connect (127.0.0.1), and only with the session's random
 * token, which the printed URL carries in its fragment (never sent to a server or a Referer).
 */
export interface WebHostOptions {
  /** The built renderer: out/renderer. */
  rendererDir: string;
  dispatch: Dispatch;
  events: EventHub;
  /** 0 (the default) picks a free port. */
  port?: number;
  log?: (line: string) => void;
}

export interface WebHost {
  /** Where to open the console, token included: http://127.0.0.1:<port>/#token=… */
  url: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1 << 20;
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};
const STATUS_OF: Record<ApiErrorCode, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'unknown-request': 404,
  'not-found': 404,
  conflict: 409,
  internal: 500,
  unreachable: 502,
};

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const { dispatch, events, log } = options;
  const root = await fs.promises.realpath(options.rendererDir);
  const token = randomBytes(32).toString('base64url');
  const tokenDigest = sha256(token);
  const streams = new Set<http.ServerResponse>();
  let origins = new Set<string>();
  let hosts = new Set<string>();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log?.(`web host: ${req.method} ${req.url} failed: ${String(error)}`);
      if (!res.headersSent) sendJson(res, failure('internal', 'The web host failed to answer; see its log.'));
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    // A foreign name resolving to 127.0.0.1 (DNS rebinding) is not us, whatever it asks for.
    if (!hosts.has(req.headers.host ?? '')) return sendJson(res, failure('forbidden', 'Unknown Host.'));
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (pathname.startsWith('/api/')) return handleApi(req, res, pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(res, failure('bad-request', 'Only GET here.'), 405);
    return serveFile(root, pathname, req, res);
  }

  async function handleApi(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    pathname: string,
  ): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    // Browsers send Origin on every cross-origin request and every POST: a page from elsewhere
    // is refused even before its (missing) token is. Callers without Origin still need the token.
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin))
      return sendJson(res, failure('forbidden', `Origin ${origin} may not use this API.`));
    if (!tokenMatches(req.headers[TOKEN_HEADER], tokenDigest)) {
      return sendJson(
        res,
        failure('unauthorized', 'Missing or wrong token: open the address that “npm start” printed.'),
      );
    }
    if (pathname === EVENTS_PATH) {
      if (req.method !== 'GET')
        return sendJson(res, failure('bad-request', 'Use GET for the event stream.'), 405);
      return openEventStream(res);
    }
    if (req.method !== 'POST') return sendJson(res, failure('bad-request', 'Use POST for requests.'), 405);
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
      return sendJson(res, failure('bad-request', 'Send the request as application/json.'), 415);
    }
    const body = await readBody(req);
    if (body === undefined) return sendJson(res, failure('bad-request', 'The request is too large.'), 413);
    let params: unknown;
    try {
      params = body.length === 0 ? {} : JSON.parse(body);
    } catch {
      return sendJson(res, failure('bad-request', 'The request body is not JSON.'));
    }
    let name: string;
    try {
      name = decodeURIComponent(pathname.slice('/api/'.length));
    } catch {
      return sendJson(res, failure('bad-request', 'Bad request name.'));
    }
    sendJson(res, await dispatch(name, params));
  }

  function openEventStream(res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.write(': connected\n\n');
    streams.add(res);
    const unsubscribe = events.subscribe(({ name, payload }) => {
      res.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 20_000);
    res.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(res);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  origins = new Set([...hosts].map((host) => `http://${host}`));
  const origin = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    url: `${origin}/#token=${token}`,
    origin,
    token,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

const SECURITY_HEADERS: [string, string][] = [
  ['content-security-policy', CONSOLE_CSP_HEADER],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
  ['cross-origin-opener-policy', 'same-origin'],
  ['cross-origin-resource-policy', 'same-origin'],
];

async function serveFile(
  root: string,
  pathname: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  let file: string;
  try {
    const relative = decodeURIComponent(pathname);
    if (relative.includes('\0')) throw new Error('NUL in path');
    file = await fs.promises.realpath(
      path.join(root, relative.endsWith('/') ? `${relative}index.html` : relative),
    );
  } catch {
    return sendNotFound(res);
  }
  if (!file.startsWith(root + path.sep)) return sendNotFound(res);
  const stat = await fs.promises.stat(file);
  if (!stat.isFile()) return sendNotFound(res);
  const type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'content-length': stat.size, 'cache-control': 'no-cache' });
  if (req.method === 'HEAD') return void res.end();
  fs.createReadStream(file).pipe(res);
}

function sendNotFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('Not found\n');
}

function sendJson(res: http.ServerResponse, result: ApiResult<unknown>, status?: number): void {
  const body = JSON.stringify(result);
  res.writeHead(status ?? (result.ok ? 200 : STATUS_OF[result.error.code]), {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The body as text, or undefined when it exceeds MAX_BODY_BYTES (the rest is drained unread). */
function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares digests, so the comparison takes the same time whatever the caller sent. */
function tokenMatches(sent: string | string[] | undefined, digest: Buffer): boolean {
  return typeof sent === 'string' && timingSafeEqual(sha256(sent), digest);
}
