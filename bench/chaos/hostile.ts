/**
 * The hostile-webhook run: N requests per webhook route of the sandbox ingress (the real HTTP
 * server and the same handler as the Lambda), spread over hostile cases: malformed JSON, unsigned,
 * bad signature, stale timestamp, replayed (a valid request sent once before the run, then again),
 * oversized bodies, deeply nested JSON, wrong content types, huge headers, random bytes. Counts the
 * status codes per case, 5xx (must be 0), events enqueued (must be 0: the ingress's own count and
 * the flow queues' depth before and after), and this process's memory before, at peak and after
 * (the client runs in the same process: its buffers count too).
 *
 * Each case is as valid as possible except for its one fault (signed when the fault is not the
 * signature, with the right token when it is not the token), so it tests that check, not an
 * earlier one. Cases a route's scheme cannot express (a stale timestamp where no timestamp is
 * signed) are listed as not applicable.
 */
import { randomBytes } from 'node:crypto';
import { connectors } from '../../functions/connectors/index.ts';
import { signMobilityWorkWebhook } from '../../functions/connectors/mobility-work/signature.ts';
import type { Log } from '../../functions/core/log.ts';
import { type Sandbox, startSandbox } from '../../sandbox/runtime.ts';
import { sandboxSecrets } from '../../sandbox/secrets.ts';
import { queueDepth } from '../../sandbox/sqs.ts';

export interface CaseFigures {
  name: string;
  sent: number;
  /** Status code (or `reset` when the server cut the connection) -> count. */
  statuses: Record<string, number>;
  /** Events the ingress enqueued for this case's requests. */
  enqueued: number;
}

export interface RouteFigures {
  route: string;
  requests: number;
  cases: CaseFigures[];
  serverErrors: number;
  /** Events the ingress enqueued during the run (not counting the replay baseline). */
  enqueued: number;
  /** Change in the flow queues' depth (visible + in flight + delayed) during the run. */
  queueDelta: number;
  /** Events the one valid request sent before the run enqueued. */
  baselineEnqueued: number;
  wallMs: number;
}

export interface HostileFigures {
  requestsPerRoute: number;
  routes: RouteFigures[];
  memory: {
    rssBefore: number;
    rssPeak: number;
    rssAfter: number;
    heapBefore: number;
    heapPeak: number;
    heapAfter: number;
    /** Heap after GC within `flatMarginBytes` of before. */
    flat: boolean;
    gc: boolean;
  };
  failed: boolean;
}

interface HostileRequest {
  path: string;
  body: string | Buffer;
  headers: Record<string, string>;
}

/** A route's valid request and how to break it. */
interface RouteKit {
  route: string;
  /** A new valid delivery (a new event). */
  valid(): HostileRequest;
  /** The same as `valid`, signed/authenticated as given; `body` raw. */
  signed(body: string | Buffer, contentType?: string): HostileRequest;
  unsigned(body: string): HostileRequest;
  badSignature(body: string): HostileRequest;
  stale?(body: string): HostileRequest;
}

export const isReplay = (name: string) => name.startsWith('replay');

const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };
const FLAT_MARGIN_BYTES = 16 * 1024 * 1024;

const json = 'application/json';

function kits(sandbox: Sandbox): RouteKit[] {
  const secrets = sandboxSecrets() as Record<string, Record<string, unknown>>;
  const now = () => Math.floor(sandbox.clock.now().getTime() / 1000);
  const out: RouteKit[] = [];
  for (const c of connectors) {
    const route = c.webhook?.route;
    if (!route) continue;
    if (c.id === 'upkeep') {
      const token = String(secrets['millwright/upkeep']?.webhookToken);
      const path = (t: string) => `/webhooks/upkeep/${t}`;
      // With the record's updatedAt, as UpKeep's webhook payloads carry it (reference §4, [EXT]):
      // the event id then names one version, which the ingress remembers.
      const body = () =>
        JSON.stringify({
          event: 'WORK_ORDER_UPDATED',
          data: { id: `wo-${randomBytes(6).toString('hex')}`, updatedAt: new Date().toISOString() },
        });
      out.push({
        route,
        valid: () => ({ path: path(token), body: body(), headers: { 'content-type': json } }),
        signed: (b, ct = json) => ({ path: path(token), body: b, headers: { 'content-type': ct } }),
        unsigned: (b) => ({ path: '/webhooks/upkeep/', body: b, headers: { 'content-type': json } }),
        badSignature: (b) => ({
          path: path('x'.repeat(token.length)),
          body: b,
          headers: { 'content-type': json },
        }),
      });
    } else if (c.id === 'machinemetrics') {
      const secret = String(secrets['millwright/machinemetrics']?.webhookSecret);
      const body = () =>
        JSON.stringify({
          event: 'machine.status.changed',
          id: `hostile-${randomBytes(6).toString('hex')}`,
          machineId: '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c',
          machineName: 'MACHINE 1',
          status: 'DOWN',
          timestamp: sandbox.clock.now().toISOString(),
          downtimeStartedAt: sandbox.clock.now().toISOString(),
        });
      const path = '/webhooks/machinemetrics';
      out.push({
        route,
        valid: () => ({
          path,
          body: body(),
          headers: { 'content-type': json, 'x-mm-webhook-secret': secret },
        }),
        signed: (b, ct = json) => ({
          path,
          body: b,
          headers: { 'content-type': ct, 'x-mm-webhook-secret': secret },
        }),
        unsigned: (b) => ({ path, body: b, headers: { 'content-type': json } }),
        badSignature: (b) => ({
          path,
          body: b,
          headers: { 'content-type': json, 'x-mm-webhook-secret': 'x'.repeat(secret.length) },
        }),
      });
    } else if (c.id === 'mobility-work') {
      const secret = String(
        (secrets['millwright/mobility-work']?.webhookSecrets as string[] | undefined)?.[0],
      );
      const path = '/webhooks/mobility-work';
      const sign = (b: string | Buffer, t: number, key = secret) =>
        signMobilityWorkWebhook({
          secret: key,
          scheme: 't.nonce.body',
          t,
          nonce: randomBytes(20).toString('hex'),
          rawBody: typeof b === 'string' ? b : b.toString('utf8'),
        });
      const body = () =>
        JSON.stringify({
          _event: 'TaskWasCompleted',
          _idempotencyKey: randomBytes(6).toString('hex'),
          networkId: '17df9a0f-5c04-43c8-b010-b48e1237e6ff',
          id: 'task-hostile',
          doneAt: sandbox.clock.now().toISOString(),
        });
      const at = (b: string | Buffer, ct: string, t: number, key?: string): HostileRequest => ({
        path,
        body: b,
        headers: { 'content-type': ct, 'x-mw-signature': sign(b, t, key) },
      });
      out.push({
        route,
        valid: () => at(body(), json, now()),
        signed: (b, ct = json) => at(b, ct, now()),
        unsigned: (b) => ({ path, body: b, headers: { 'content-type': json } }),
        badSignature: (b) => at(b, json, now(), 'not-the-secret'),
        stale: (b) => at(b, json, now() - 3600),
      });
    }
  }
  return out;
}

/** The hostile cases, each a request maker (given the route's kit and the replay baseline). */
function cases(kit: RouteKit, replay: HostileRequest) {
  const valid = () => (kit.valid().body as string).toString();
  const nested = (depth: number) => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const list: { name: string; make: () => HostileRequest | undefined }[] = [
    { name: 'malformed JSON', make: () => kit.signed(`${valid().slice(0, -3)}, "x": `) },
    { name: 'unsigned', make: () => kit.unsigned(valid()) },
    { name: 'bad signature', make: () => kit.badSignature(valid()) },
    { name: 'stale timestamp', make: () => kit.stale?.(valid()) },
    { name: 'replayed', make: () => replay },
    // Over the webhook limit (256 KiB), under API Gateway's 10 MB.
    {
      name: 'oversized (300 KB)',
      make: () => kit.signed(valid().replace(/}$/, `,"pad":"${'x'.repeat(300_000)}"}`)),
    },
    // Within the size limit: the nesting check must refuse it, not the size check.
    { name: 'nested 100k levels', make: () => kit.signed(nested(100_000)) },
    { name: 'nested 1k levels', make: () => kit.signed(nested(1_000)) },
    { name: 'wrong content type', make: () => kit.signed('a=1&b=2', 'application/x-www-form-urlencoded') },
    // The replayed body again under another content type: still a duplicate, never a new event.
    {
      name: 'replay as text/plain',
      make: () => ({
        ...replay,
        headers: { ...replay.headers, 'content-type': 'text/plain; charset=utf-8' },
      }),
    },
    {
      name: 'huge headers (64 KB)',
      make: () => {
        const r = kit.unsigned(valid());
        return { ...r, headers: { ...r.headers, 'x-huge': 'h'.repeat(64 * 1024) } };
      },
    },
    {
      name: 'many headers (8 KB)',
      make: () => {
        const r = kit.badSignature(valid());
        const extra = Object.fromEntries(
          Array.from({ length: 80 }, (_, i) => [`x-pad-${i}`, 'p'.repeat(90)]),
        );
        return { ...r, headers: { ...r.headers, ...extra } };
      },
    },
    { name: 'random bytes', make: () => kit.signed(randomBytes(1 + Math.floor(Math.random() * 4096))) },
  ];
  return list;
}

async function send(sandbox: Sandbox, r: HostileRequest): Promise<string> {
  try {
    const res = await fetch(`${sandbox.ingressUrl}${r.path}`, {
      method: 'POST',
      headers: r.headers,
      body: r.body,
    });
    await res.arrayBuffer();
    return String(res.status);
  } catch {
    return 'reset';
  }
}

async function queued(sandbox: Sandbox): Promise<number> {
  let n = 0;
  for (const { queues } of sandbox.flows.values()) {
    const d = await queueDepth(sandbox.sqs.client, queues.queueUrl);
    n += d.visible + d.inFlight + d.delayed;
  }
  return n;
}

export async function runHostile(options: {
  requests: number;
  concurrency?: number;
  progress?: (line: string) => void;
}): Promise<HostileFigures> {
  const progress = options.progress ?? (() => undefined);
  const gc = (globalThis as { gc?: () => void }).gc;
  // No worker loop: what the ingress enqueues stays on the queues, to be counted.
  const sandbox = await startSandbox({
    secrets: sandboxSecrets() as Record<string, unknown>,
    basePort: 0,
    log: quiet,
  });
  try {
    const routes: RouteFigures[] = [];
    gc?.();
    const before = process.memoryUsage();
    let rssPeak = before.rss;
    let heapPeak = before.heapUsed;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      rssPeak = Math.max(rssPeak, m.rss);
      heapPeak = Math.max(heapPeak, m.heapUsed);
    }, 50);
    try {
      for (const kit of kits(sandbox)) {
        // The replay case starts from a valid request, sent once before the run (a new event).
        const replay = kit.valid();
        const enqueuedBase = sandbox.enqueued.length;
        const baselineStatus = await send(sandbox, replay);
        const baselineEnqueued = sandbox.enqueued.length - enqueuedBase;
        progress(
          `hostile: ${kit.route}: baseline valid request -> ${baselineStatus}, ${baselineEnqueued} enqueued`,
        );
        const enqueuedBefore = sandbox.enqueued.length;
        const depthBefore = await queued(sandbox);
        const list = cases(kit, replay).filter((c) => c.make() !== undefined);
        const figures: CaseFigures[] = [];
        const started = performance.now();
        // Case by case, so what each one enqueued is known; requests of a case run concurrently.
        for (const [index, c] of list.entries()) {
          const share =
            Math.floor(options.requests / list.length) + (index < options.requests % list.length ? 1 : 0);
          const f: CaseFigures = { name: c.name, sent: 0, statuses: {}, enqueued: 0 };
          const before = sandbox.enqueued.length;
          let next = 0;
          await Promise.all(
            Array.from({ length: options.concurrency ?? 8 }, async () => {
              while (next < share) {
                next++;
                const r = c.make();
                if (!r) return;
                const status = await send(sandbox, r);
                f.sent++;
                f.statuses[status] = (f.statuses[status] ?? 0) + 1;
              }
            }),
          );
          f.enqueued = sandbox.enqueued.length - before;
          f.statuses = Object.fromEntries(Object.entries(f.statuses).sort());
          figures.push(f);
        }
        progress(`hostile: ${kit.route}: ${options.requests} requests done`);
        const wallMs = performance.now() - started;
        const serverErrors = figures.reduce(
          (n, f) =>
            n +
            Object.entries(f.statuses)
              .filter(([s]) => s.startsWith('5'))
              .reduce((m, [, k]) => m + k, 0),
          0,
        );
        routes.push({
          route: kit.route,
          requests: options.requests,
          cases: [
            ...figures,
            ...(kit.stale
              ? []
              : [
                  {
                    name: 'stale timestamp',
                    sent: 0,
                    statuses: { 'n/a (no signed timestamp)': 0 },
                    enqueued: 0,
                  },
                ]),
          ],
          serverErrors,
          enqueued: sandbox.enqueued.length - enqueuedBefore,
          queueDelta: (await queued(sandbox)) - depthBefore,
          baselineEnqueued,
          wallMs,
        });
      }
    } finally {
      clearInterval(sampler);
    }
    gc?.();
    const after = process.memoryUsage();
    const flat = after.heapUsed - before.heapUsed < FLAT_MARGIN_BYTES;
    // A replay is a duplicate, not a new event: counted apart (a route whose vendor sends no delivery
    // id, UpKeep's, cannot tell it from a new delivery; the flows' effects are keyed, not the ingress).
    const failed =
      !flat ||
      routes.some((r) => r.serverErrors > 0 || r.cases.some((c) => !isReplay(c.name) && c.enqueued > 0));
    return {
      requestsPerRoute: options.requests,
      routes,
      memory: {
        rssBefore: before.rss,
        rssPeak,
        rssAfter: after.rss,
        heapBefore: before.heapUsed,
        heapPeak,
        heapAfter: after.heapUsed,
        flat,
        gc: gc !== undefined,
      },
      failed,
    };
  } finally {
    await sandbox.close();
  }
}
