/** The sandbox's local ingress: API Gateway's HTTP API in front of the webhook handler the Lambda runs. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Log } from '../functions/core/log.ts';
import { handleWebhook, type IngressOptions } from '../functions/runtime/ingress.ts';
import type { Clock } from './clock.ts';
import { createRouter } from './router.ts';

/** API Gateway's own payload limit; the ingress handler applies the (smaller) webhook limit. */
const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * The whole body; undefined when the client disconnected before sending it; `too large` past
 * `maxBytes` (a request body is never buffered without bound).
 */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too large' | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) return 'too large';
      chunks.push(chunk as Buffer);
    }
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks);
}

/**
 * The ingress's listening socket, opened before the simulators start (they send their webhooks to
 * its port) and kept open: closing a probe socket and listening again later raced with outbound
 * connections that took the freed port as their local port (EADDRINUSE on a restart). Until
 * `startIngress` attaches the handler, a request gets a 503.
 */
export async function listenIngress(port: number): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'the sandbox is starting' }));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

/** The local ingress: the HTTP API's routes in front of the same handler the Lambda runs. */
export function startIngress(options: IngressOptions, server: Server, log: Log, clock: Clock): void {
  const lookup = createRouter(
    options.receivers.map((receiver) => {
      const [method, pattern] = receiver.route.split(' ') as [string, string];
      return { method, pattern, receiver };
    }),
  );
  const answer = (res: ServerResponse, status: number, message: string) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message }));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // A client that disconnects mid-body rejects this read ('aborted'): nothing to answer.
    const body = await readBody(req, API_GATEWAY_MAX_BODY_BYTES);
    if (body === undefined) return req.socket.destroy();
    if (body === 'too large') {
      // As API Gateway does: refuse without reading the rest.
      answer(res, 413, `body exceeds ${API_GATEWAY_MAX_BODY_BYTES} bytes`);
      return req.socket.destroySoon();
    }
    const url = new URL(req.url ?? '/', 'http://ingress');
    const found = lookup(req.method ?? '', url.pathname);
    if (!found) return answer(res, 404, `no route ${req.method} ${url.pathname}`);
    // A malformed percent-encoding (`%`, `%E0%A4%A`) cannot name anything: 400, as API Gateway.
    if ('malformed' in found)
      return answer(res, 400, `malformed percent-encoding in the path (${found.malformed})`);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [
        k.toLowerCase(),
        Array.isArray(v) ? v.join(',') : (v ?? ''),
      ]),
    );
    const out = await handleWebhook(options, found.route.receiver.route, {
      rawBody: body.toString('utf8'),
      headers,
      pathParameters: found.params,
      query: Object.fromEntries(url.searchParams),
      // The sandbox clock is the time of the whole sandbox (simulators sign with it too).
      receivedAt: clock.now(),
    });
    // The route key, not the path: a path parameter may be a secret (UpKeep's URL token).
    log.info(`ingress ${found.route.receiver.route} -> ${out.statusCode}`);
    if (res.destroyed) return;
    res.writeHead(out.statusCode, out.headers);
    res.end(out.body);
  };
  // No request, however hostile, may take the process down: an unexpected error is a 500.
  server.removeAllListeners('request'); // listenIngress's 503
  server.on('request', (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error(
        `ingress: ${req.method} request failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      answer(res, 500, 'internal error');
    });
  });
}
