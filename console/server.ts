/**
 * `millwright console`: a local web page over the operator layer. One node:http server on
 * 127.0.0.1 only, serving console/web/, three vendor files (Preact, its hooks, htm) from
 * node_modules, and the JSON API (console/api.ts). Every /api request must carry the session's
 * token (header `X-Millwright-Token`; the page gets it from the URL's `#token=`), and every request
 * must name this server in its Host header, so neither another local page nor a DNS-rebound site
 * can drive it. No Access-Control-* header is ever sent: a cross-site page cannot even send the
 * token header without a preflight this server never approves.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLog } from '../functions/core/log.ts';
import { runsByHour } from '../operator/runs.ts';
import type { Target } from '../operator/target.ts';
import { type ApiResponse, errorResponse, handleApi } from './api.ts';
import { hourlyCharts } from './chart.ts';
import { Jobs } from './jobs.ts';
import { ConsoleApiError } from './params.ts';
import { type SandboxConsole, sandboxConsole } from './sandbox.ts';

export const TOKEN_HEADER = 'x-millwright-token';
/** The largest POST body the API reads. */
export const MAX_BODY_BYTES = 64 * 1024;
const HOST = '127.0.0.1';
const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

export interface ConsoleOptions {
  target: Target;
  /** 0 (default): a free port the system picks. */
  port?: number;
  /** Who acts (kept in the run log with replays and pauses); default `console`. */
  by?: string;
  /** The simulators' side (default: from a sandbox target's endpoints; none for a stack). */
  sandbox?: SandboxConsole;
  /** The page's files (default console/web next to this file). */
  webDir?: string;
}

export interface ConsoleServer {
  /** `http://127.0.0.1:<port>/#token=<token>`: open it in a browser. */
  url: string;
  token: string;
  port: number;
  /** The long actions started from the page (tests wait on them). */
  jobs: Jobs;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** The ES module builds the import map in index.html names (`/vendor/<file>`). */
function vendorFiles(): Record<string, string> {
  // Each package's main file sits beside its ES module build (htm exports no package.json to find).
  const require = createRequire(import.meta.url);
  const beside = (specifier: string, file: string) => join(dirname(require.resolve(specifier)), file);
  return {
    '/vendor/preact.module.js': beside('preact', 'preact.module.js'),
    '/vendor/hooks.module.js': beside('preact/hooks', 'hooks.module.js'),
    '/vendor/htm.module.js': beside('htm', 'htm.module.js'),
  };
}

/**
 * The Content-Security-Policy: only this origin's scripts, plus the inline import map by its hash
 * (an import map cannot be an external file in every browser, and 'unsafe-inline' would let any
 * injected script run).
 */
export function contentSecurityPolicy(indexHtml: string | undefined): string {
  const importMaps = /<script\b[^>]*\btype=["']?importmap["']?[^>]*>([\s\S]*?)<\/script>/gi;
  const hashes = [...(indexHtml ?? '').matchAll(importMaps)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64')}'`,
  );
  return [
    "default-src 'self'",
    `script-src 'self'${hashes.map((h) => ` ${h}`).join('')}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** Equal in constant time (hashes first, so neither the length nor a prefix leaks). */
function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

class BodyTooLargeError extends ConsoleApiError {}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    throw new BodyTooLargeError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const { target } = options;
  const webDir = resolve(options.webDir ?? WEB_DIR);
  const indexFile = join(webDir, 'index.html');
  const csp = contentSecurityPolicy(existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined);
  const vendor = vendorFiles();
  const token = randomBytes(32).toString('base64url');
  const env = target.env(silentLog);
  const jobs = new Jobs(env.now);
  const sandbox = options.sandbox ?? sandboxConsole(target);
  const ctx = {
    target,
    jobs,
    charts: hourlyCharts((flowId, hours, now) => runsByHour(target, { flowId, hours, now })),
    now: env.now,
    by: options.by ?? 'console',
    ...(sandbox ? { sandbox } : {}),
  };
  let port = 0;

  const send = (res: ServerResponse, status: number, body: Buffer | string, type: string) => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'cross-origin-resource-policy': 'same-origin',
    });
    res.end(body);
  };
  const sendJson = (res: ServerResponse, out: ApiResponse) =>
    send(res, out.status, JSON.stringify(out.body), 'application/json; charset=utf-8');

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const given = req.headers[TOKEN_HEADER];
    if (!sameToken(typeof given === 'string' ? given : undefined, token)) {
      sendJson(res, { status: 403, body: { error: 'missing or wrong console token' } });
      return;
    }
    const method = req.method ?? 'GET';
    let body: unknown;
    if (method === 'POST') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') {
        sendJson(res, { status: 415, body: { error: 'send the body as content-type: application/json' } });
        return;
      }
      const text = await readBody(req);
      try {
        body = text.trim() === '' ? undefined : JSON.parse(text);
      } catch (error) {
        throw new ConsoleApiError(400, 'the body is not valid JSON', { cause: error });
      }
    } else if (method !== 'GET') {
      sendJson(res, { status: 405, body: { error: `${method} is not allowed` } });
      return;
    }
    sendJson(res, await handleApi(ctx, { method, path: url.pathname, query: url.searchParams, body }));
  }

  function serveStatic(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed', 'text/plain; charset=utf-8');
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      send(res, 400, 'bad path', 'text/plain; charset=utf-8');
      return;
    }
    const vendorFile = vendor[path];
    let file: string | undefined;
    if (vendorFile) file = vendorFile;
    else if (!path.includes('\0') && !path.split('/').includes('..')) {
      const candidate = resolve(webDir, `.${path === '/' ? '/index.html' : path}`);
      // Only files inside the web folder, whatever the path says.
      if (candidate.startsWith(webDir + sep)) file = candidate;
    }
    const type = file ? CONTENT_TYPES[extname(file)] : undefined;
    if (!file || !type || !existsSync(file)) {
      send(res, 404, 'not found', 'text/plain; charset=utf-8');
      return;
    }
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch {
      send(res, 404, 'not found', 'text/plain; charset=utf-8');
      return;
    }
    send(res, 200, req.method === 'HEAD' ? '' : content, type);
  }

  const server = createServer((req, res) => {
    // DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends its own Host.
    const host = req.headers.host;
    if (host !== `${HOST}:${port}` && host !== `localhost:${port}`) {
      sendJson(res, { status: 421, body: { error: `wrong Host header: use http://${HOST}:${port}/` } });
      return;
    }
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, errorResponse(error));
        else res.destroy();
      });
      return;
    }
    serveStatic(req, res, url);
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', fail);
      done();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${HOST}:${port}/#token=${token}`,
    token,
    port,
    jobs,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/**
 * `npm start`'s console: on the first free port from `firstPort` (the one after the sandbox's
 * services), trying the next few when one is taken; `firstPort` 0 takes any free port.
 */
export async function startConsoleFrom(
  options: Omit<ConsoleOptions, 'port'>,
  firstPort: number,
  tries = 20,
): Promise<ConsoleServer> {
  if (firstPort === 0) return startConsole({ ...options, port: 0 });
  for (let port = firstPort; ; port++) {
    try {
      return await startConsole({ ...options, port });
    } catch (error) {
      const inUse = (error as { code?: string }).code === 'EADDRINUSE';
      if (!inUse || port >= firstPort + tries - 1) throw error;
    }
  }
}

/** The port after the highest one among `urls` (the sandbox's services), or 0 if none has one. */
export function portAfter(urls: readonly string[]): number {
  const ports = urls.flatMap((u) => {
    try {
      const port = Number(new URL(u).port);
      return port > 0 ? [port] : [];
    } catch {
      return [];
    }
  });
  return ports.length > 0 ? Math.max(...ports) + 1 : 0;
}
