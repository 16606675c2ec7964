/**
 * A small HTTP toolkit the vendor simulators share: routing with path params, JSON in/out, and
 * fault injection (status with Retry-After, slow answers, "apply the write then time out").
 * Every simulator binds 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MillwrightError } from '../../functions/core/errors.ts';
import { createRouter } from '../router.ts';

export interface SimRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  rawBody: string;
  /** JSON body if it parsed, else undefined. */
  json: unknown;
}

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export interface Route {
  method: string;
  /** `/work-orders/:id` style. */
  pattern: string;
  handler: Handler;
}

/**
 * A queued fault, consumed by the next matching request (`match` is a substring of "METHOD /path").
 * - `status`: answer with it instead of running the handler (e.g. 429 + retryAfterSeconds, 503).
 * - `delayMs`: answer late (still runs the handler).
 * - `timeoutAfterWrite`: run the handler (the write happens), then never answer; the socket is
 *   destroyed after `delayMs` (default 30 s) so the client's own timeout fires first.
 * - `afterWrite` (with `status`): run the handler (the write happens), then answer with `status`
 *   instead of its answer: a vendor that committed and then failed (a 500, a gateway's 502/504).
 * - `probability` (0..1): a standing fault instead of a counted one: it hits each matching request
 *   with that chance (drawn from a PRNG seeded by `seed`, so a run can be repeated) and stays until
 *   removed; `times` is then ignored. `probability: 1` is an outage: every matching request fails
 *   until it is lifted.
 * - `name`: lets `DELETE /_sandbox/faults?name=...` lift this fault alone (e.g. an outage window).
 * A request meets the faults in the order they were queued; a probabilistic fault whose draw misses
 * lets the next one try.
 */
export interface Fault {
  match?: string;
  status?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  timeoutAfterWrite?: boolean;
  afterWrite?: boolean;
  body?: unknown;
  /** How many requests it applies to (default 1; ignored with `probability`). */
  times?: number;
  probability?: number;
  seed?: number;
  name?: string;
  /** How many requests it has hit so far (kept by the simulator, for reports). */
  hits?: number;
}

/** A small seeded PRNG (mulberry32): a probabilistic fault's draws repeat with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How many requests a simulator's log keeps by default (the newest). */
export const REQUEST_LOG_LIMIT = 10_000;

/** Append `item`, dropping the oldest entries beyond `limit` (a run log, not a history). */
export function appendBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}

/** Each probabilistic fault's own draws (kept beside the fault, not in its JSON). */
const draws = new WeakMap<Fault, () => number>();

/**
 * The fault that hits `line`, if any, consumed as it says: a counted one loses one of its `times`
 * (and leaves the list at zero), a probabilistic one stays.
 */
export function takeFault(faults: Fault[], line: string): Fault | undefined {
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i] as Fault;
    if (f.match && !line.includes(f.match)) continue;
    if (f.probability !== undefined) {
      let draw = draws.get(f);
      if (!draw) {
        draw = f.seed === undefined ? Math.random : seededRandom(f.seed);
        draws.set(f, draw);
      }
      if (draw() >= f.probability) continue;
      f.hits = (f.hits ?? 0) + 1;
      return f;
    }
    f.hits = (f.hits ?? 0) + 1;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) faults.splice(i, 1);
    return f;
  }
  return undefined;
}

export interface Simulator {
  name: string;
  url: string;
  port: number;
  server: Server;
  /**
   * Requests seen, newest last ("METHOD /path"), for tests and the demo summary: the latest
   * `requestLogLimit` only (a sandbox left polling for weeks must not grow it without bound).
   */
  requests: string[];
  /** Requests seen in all (not bounded like `requests`); a reset may set it back to 0. */
  requestCount: number;
  faults: Fault[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const json = (status: number, body: unknown, headers?: Record<string, string>): SimResponse => ({
  status,
  body,
  headers,
});

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A request (API or control) a simulator cannot apply; `status` is what the route answers. Each
 * simulator names its own subclass (narrowing `S` to the statuses it uses) and its error body.
 */
export class SimulatorInputError<S extends number = number> extends MillwrightError {
  constructor(
    readonly status: S,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** A vendor's error body for an input error (default `{message}`). */
export type ErrorBody = (error: SimulatorInputError) => unknown;

const messageBody: ErrorBody = (error) => ({ message: error.message });

/** A handler that answers at once (every control action and vendor check is synchronous). */
export type SyncHandler = (req: SimRequest) => SimResponse;

/** `handler`, with a SimulatorInputError it throws answered as its status and `errorBody`. */
export const answeringInputErrors =
  (handler: SyncHandler, errorBody: ErrorBody = messageBody): SyncHandler =>
  (req) => {
    try {
      return handler(req);
    } catch (error) {
      if (error instanceof SimulatorInputError) return json(error.status, errorBody(error));
      throw error;
    }
  };

/** A route whose SimulatorInputErrors answer as their status and `errorBody`. */
export const controlRoute = (
  method: string,
  pattern: string,
  handler: SyncHandler,
  errorBody?: ErrorBody,
): Route => ({ method, pattern, handler: answeringInputErrors(handler, errorBody) });

/**
 * A `/_sandbox/...` action as a handler: 200 with what `action` returns, or the status of the
 * SimulatorInputError it throws. `body` is the JSON object sent, or `{}`.
 */
export const simControl = (
  action: (req: SimRequest, body: Record<string, unknown>) => unknown,
  errorBody?: ErrorBody,
): SyncHandler =>
  answeringInputErrors((req) => json(200, action(req, isRecord(req.json) ? req.json : {})), errorBody);

/** Control routes every simulator gets: faults and the request log. */
function controlRoutes(sim: () => Simulator): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/_sandbox/faults',
      handler: (req) => {
        const faults = (Array.isArray(req.json) ? req.json : [req.json]) as Fault[];
        sim().faults.push(...faults);
        return json(200, { queued: sim().faults.length });
      },
    },
    {
      method: 'DELETE',
      pattern: '/_sandbox/faults',
      // `?name=outage` lifts the faults of that name only; no name clears them all.
      handler: (req) => {
        const name = req.query.get('name');
        const kept = name === null ? [] : sim().faults.filter((f) => f.name !== name);
        sim().faults.splice(0, sim().faults.length, ...kept);
        return json(200, { queued: kept.length });
      },
    },
    { method: 'GET', pattern: '/_sandbox/requests', handler: () => json(200, { requests: sim().requests }) },
  ];
}

/**
 * One save for the writes of one turn of the event loop: each caller's answer waits for a save that
 * began after its change (a save snapshots the world when it runs), so nothing answered lives only
 * in memory, and writes that arrive together pay for one copy of the world, not one each.
 */
export function groupCommit(commit: () => void): () => Promise<void> {
  let pending: Promise<void> | undefined;
  return () => {
    pending ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        pending = undefined;
        try {
          commit();
          resolve();
        } catch (error) {
          reject(error);
        }
      });
    });
    return pending;
  };
}

export async function startSimulator(options: {
  name: string;
  routes: Route[];
  port?: number;
  /** How many requests `requests` keeps, newest (default REQUEST_LOG_LIMIT). */
  requestLogLimit?: number;
  /**
   * Runs after every write's handler, before its answer is sent (shared by the writes of one turn of
   * the event loop, groupCommit): a simulator saves its state here, as a vendor commits before it
   * answers, so nothing the sandbox was told survives only in memory. If it throws, the callers get a
   * 500 instead of the handler's answer.
   */
  commit?: () => void;
}): Promise<Simulator> {
  let simulator: Simulator | undefined;
  const self = () => simulator as Simulator;
  const commitSoon = groupCommit(() => options.commit?.());
  const lookup = createRouter([...controlRoutes(self), ...options.routes]);
  const sockets = new Set<import('node:net').Socket>();

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = req.method ?? 'GET';
    const line = `${method} ${url.pathname}`;
    let parsed: unknown;
    try {
      parsed = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      parsed = undefined;
    }
    const send = (r: SimResponse) => {
      if (res.destroyed) return;
      const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(body);
    };

    const isControl = url.pathname.startsWith('/_sandbox/');
    if (!isControl) {
      self().requestCount++;
      appendBounded(self().requests, line, options.requestLogLimit ?? REQUEST_LOG_LIMIT);
    }
    const fault = isControl ? undefined : takeFault(self().faults, line);
    const faultAnswer = (status: number): SimResponse => ({
      status,
      body: fault?.body ?? { success: false, message: `simulated ${status}` },
      headers:
        fault?.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {},
    });
    if (fault?.status && !fault.afterWrite) {
      if (fault.delayMs) await sleep(fault.delayMs);
      send(faultAnswer(fault.status));
      return;
    }

    const found = lookup(method, url.pathname);
    if (!found) return send(json(404, { success: false, message: `no route for ${line}` }));
    if ('malformed' in found) {
      return send(
        json(400, { success: false, message: `malformed percent-encoding in the path (${found.malformed})` }),
      );
    }
    let response: SimResponse;
    try {
      response = await found.route.handler({
        method,
        path: url.pathname,
        params: found.params,
        query: url.searchParams,
        headers: req.headers,
        rawBody,
        json: parsed,
      });
    } catch (error) {
      response = json(500, { success: false, message: `simulator error: ${(error as Error).message}` });
    }
    try {
      // A read changes nothing to save (and a save costs a copy of the whole world).
      if (method !== 'GET' && method !== 'HEAD' && options.commit) await commitSoon();
    } catch (error) {
      response = json(500, { success: false, message: `simulator error: ${(error as Error).message}` });
    }
    if (fault?.timeoutAfterWrite) {
      // The write happened; the caller never hears back.
      setTimeout(() => res.destroy(), fault.delayMs ?? 30_000).unref();
      return;
    }
    if (fault?.delayMs) await sleep(fault.delayMs);
    // The write happened; the caller hears a failure.
    send(fault?.afterWrite && fault.status ? faultAnswer(fault.status) : response);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  simulator = {
    name: options.name,
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests: [],
    requestCount: 0,
    faults: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return simulator;
}
