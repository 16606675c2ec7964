/**
 * The console's JSON API: each route parses its input (console/params.ts), calls one or two
 * operator functions on the Target, and shapes the answer for the page. No query or action is
 * implemented here: the CLI and the console share operator/ for all of them.
 */
import { MillwrightError } from '../functions/core/errors.ts';
import { backfillFlow, listBackfillSupport } from '../operator/backfill.ts';
import { listDeadLetters, replayDeadLetters } from '../operator/dlq.ts';
import { flowEnds } from '../operator/flow-ends.ts';
import { listParked } from '../operator/parked.ts';
import { flowPaused, pauseFlow, resumeFlow } from '../operator/pause.ts';
import { queueDepth, totalOf } from '../operator/queue-depth.ts';
import { type EventStory, type RunsByHour, runs, runsByHour, show } from '../operator/runs.ts';
import { status } from '../operator/status.ts';
import { flowOf, type Target, UnknownFlowError } from '../operator/target.ts';
import type { Jobs } from './jobs.ts';
import {
  ConsoleApiError,
  formatCursor,
  objectBody,
  optionalBoolean,
  optionalString,
  parseRunsParams,
  rateOf,
  replayChoice,
  requiredIso,
} from './params.ts';
import type { SandboxConsole } from './sandbox.ts';

export interface ApiContext {
  target: Target;
  jobs: Jobs;
  /** The flow cards' 24-hour charts (console/chart.ts); default: read in full each time. */
  charts?: (flowId: string, now: Date) => Promise<RunsByHour>;
  /** The target's clock (the sandbox's own in process; the wall clock otherwise). */
  now: () => Date;
  /** Who acts, kept in the run log with replays and pauses. */
  by: string;
  /** The simulators' side; absent on a deployed stack. */
  sandbox?: SandboxConsole;
}

export interface ApiRequest {
  method: string;
  /** The path without the query string, e.g. `/api/runs`. */
  path: string;
  query: URLSearchParams;
  /** The parsed JSON body (POST), else undefined. */
  body?: unknown;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

type Handler = (ctx: ApiContext, params: string[], req: ApiRequest) => Promise<ApiResponse>;

const ok = (body: unknown): ApiResponse => ({ status: 200, body });

/** `dryRun` first (the page's confirmation), then the real call. */
const isDryRun = (req: ApiRequest) => optionalBoolean(objectBody(req.body), 'dryRun') === true;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

async function overview(ctx: ApiContext): Promise<ApiResponse> {
  const { target } = ctx;
  const now = ctx.now();
  const report = await status(target, { now });
  const support = listBackfillSupport(target);
  const flows = await Promise.all(
    report.flows.map(async (f) => {
      const flow = flowOf(target, f.flowId).flow;
      const ends = flowEnds(flow);
      const hours = ctx.charts
        ? await ctx.charts(f.flowId, now)
        : await runsByHour(target, { flowId: f.flowId, hours: 24, now });
      // SQS's SentTimestamp is wall-clock time, whatever the sandbox's clock says.
      const oldest = f.deadLetters.oldestSentAt ? Date.parse(f.deadLetters.oldestSentAt) : undefined;
      return {
        flowId: f.flowId,
        description: f.description,
        source: ends.sources,
        targets: ends.targets,
        feedback: ends.feedback,
        paused: f.paused,
        ...(f.control ? { control: f.control } : {}),
        ...(f.platform ? { platform: f.platform } : {}),
        queue: f.queue,
        deadLetters: f.deadLetters,
        ...(oldest !== undefined
          ? { oldestMessageAgeSeconds: Math.max(0, Math.floor((Date.now() - oldest) / 1000)) }
          : {}),
        parked: f.parked,
        polls: f.polls,
        ...(f.lastError ? { lastError: f.lastError } : {}),
        lastHour: f.lastHour,
        last24h: { hours: hours.hours, counts: hours.counts, truncated: hours.truncated },
        vendors: [...flow.vendors],
        // Which poll sources can re-read a window (a webhook-only flow has none), and their notes.
        backfill: support.filter((b) => b.flowId === f.flowId).map(({ flowId: _flow, ...rest }) => rest),
      };
    }),
  );
  return ok({
    target: { kind: target.kind, label: target.label },
    now: now.toISOString(),
    flows,
    rateLimits: report.rateLimits,
    breakers: report.breakers,
  });
}

/**
 * A page of the run log, newest first. Paging: the cursor is the last shown entry's time and how
 * many entries of exactly that time were shown; the next page reads up to and including that time
 * and skips those, so entries sharing a timestamp across a page boundary are neither lost nor shown
 * twice (the operator's merge orders ties the same way on every read).
 */
async function runsPage(ctx: ApiContext, _params: string[], req: ApiRequest): Promise<ApiResponse> {
  const { query, cursor } = parseRunsParams(req.query);
  const limit = query.limit;
  let until = query.until;
  if (cursor) {
    const through = new Date(Date.parse(cursor.at) + 1);
    if (!until || through < until) until = through;
  }
  const result = await runs(ctx.target, {
    ...query,
    ...(until ? { until } : {}),
    limit: limit + (cursor?.shown ?? 0),
  });
  let entries = result.entries;
  let skipped = 0;
  if (cursor) {
    while (skipped < cursor.shown && entries[skipped]?.at === cursor.at) skipped++;
    entries = entries.slice(skipped);
  }
  const page = entries.slice(0, limit);
  const more = entries.length > limit || result.more;
  const last = page.at(-1);
  let nextCursor: string | undefined;
  if (more && last) {
    const sameTime = page.filter((e) => e.at === last.at).length;
    const carried = cursor && cursor.at === last.at ? skipped : 0;
    nextCursor = formatCursor({ at: last.at, shown: sameTime + carried });
  }
  return ok({ entries: page, more, ...(nextCursor ? { nextCursor } : {}) });
}

/** The decisions a run-log entry records, in words an engineer reads correctly. */
export function explain(attempt: EventStory['attempts'][number]): string | undefined {
  const where = `${attempt.flowId} at ${attempt.at}${attempt.via ? ` (via ${attempt.via})` : ''}`;
  const said = attempt.message ? ` The flow said: ${attempt.message}` : '';
  switch (attempt.outcome) {
    case 'echo':
      return `Echo in ${where}: this event was our own write coming back from the vendor, so it was not forwarded again (no loop).${said}`;
    case 'duplicate':
      return `Duplicate in ${where}: this event, or the effect it asks for, was already applied; nothing was done a second time.${said}`;
    case 'stale':
      return `Stale in ${where}: the event is older than what its subject already reflects (a late or replayed event of a past episode); nothing to do.${said}`;
    case 'skipped':
      return `Skipped in ${where}: the flow had nothing to do with this event.${said}`;
    case 'replayed':
      return `Replayed in ${where}: put back on the flow's queue by an operator; the flow's claims keep it from acting twice.${said}`;
    case 'dead-lettered':
      return `Dead-lettered in ${where}: it failed for good and waits on the dead-letter queue for a replay.${said}`;
    case 'needs-attention':
      return `Parked in ${where}: the flow could not tell whether its write was made, so it waits for an operator instead of risking a second one.${said}`;
    default:
      return undefined;
  }
}

async function eventStory(ctx: ApiContext, params: string[]): Promise<ApiResponse> {
  const eventId = params[0] ?? '';
  const story = await show(ctx.target, eventId);
  if (!story) throw new ConsoleApiError(404, `no run-log entry for event ${eventId}`);
  const explanations = story.attempts.map(explain).filter((e): e is string => e !== undefined);
  return ok({ ...story, explanations });
}

async function failures(ctx: ApiContext): Promise<ApiResponse> {
  const { target } = ctx;
  const flows = await Promise.all(
    [...target.flows.keys()].map(async (flowId) => {
      const [letters, parked, control] = await Promise.all([
        listDeadLetters(target, flowId),
        listParked(target, flowId),
        flowPaused(target, flowId),
      ]);
      return {
        flowId,
        paused: control.paused,
        deadLetters: letters.map(({ body: _body, ...rest }) => rest),
        parked: parked.map(({ body: _body, ...rest }) => rest),
      };
    }),
  );
  return ok({ flows });
}

async function replay(ctx: ApiContext, params: string[], req: ApiRequest): Promise<ApiResponse> {
  const flowId = flowOf(ctx.target, params[0] ?? '').flow.id;
  const body = objectBody(req.body);
  const choice = replayChoice(body);
  const ratePerSecond = rateOf(body);
  const options = { ...choice, ratePerSecond, by: ctx.by, now: ctx.now };
  if (isDryRun(req)) {
    const preview = await replayDeadLetters(ctx.target, flowId, { ...options, dryRun: true });
    const missing =
      preview.notFound.length > 0 ? ` Not on the dead-letter queue: ${preview.notFound.join(', ')}.` : '';
    const message =
      preview.selected === 0
        ? `Nothing to replay: none of the chosen events is on the dead-letter queue of ${flowId}.${missing}`
        : `Replay ${plural(preview.selected, 'event')} of ${flowId} onto its queue at ${ratePerSecond}/s: they go back on its queue and run again; effects already made are not made twice.${missing}`;
    return ok({ preview, message });
  }
  const job = ctx.jobs.start('replay', flowId, (progress) =>
    replayDeadLetters(ctx.target, flowId, { ...options, onProgress: progress }),
  );
  return { status: 202, body: { job } };
}

async function pauseOrResume(
  ctx: ApiContext,
  params: string[],
  req: ApiRequest,
  paused: boolean,
): Promise<ApiResponse> {
  const flow = flowOf(ctx.target, params[0] ?? '');
  const flowId = flow.flow.id;
  if (isDryRun(req)) {
    const [now, queued] = await Promise.all([
      flowPaused(ctx.target, flowId),
      queueDepth(ctx.target.sqs, flow.queueUrl).then(totalOf),
    ]);
    const lines: string[] = [];
    if (now.paused === paused) lines.push(paused ? `already paused since ${now.at}` : 'it is not paused');
    const message = paused
      ? `Pause ${flowId}: its worker stops taking messages and its pollers wait. Nothing is lost: new events keep arriving on its queue (${plural(queued, 'message')} there now) and wait until it is resumed.`
      : `Resume ${flowId}: its worker takes the ${plural(queued, 'message')} on its queue again, in order per subject, and its pollers catch up from their watermark.`;
    return ok({ message, lines, dryRun: true });
  }
  const result = paused
    ? await pauseFlow(ctx.target, flowId, { by: ctx.by, now: ctx.now })
    : await resumeFlow(ctx.target, flowId, { by: ctx.by, now: ctx.now });
  return ok({
    message: `${paused ? 'Paused' : 'Resumed'} ${flowId}.`,
    lines: result.lines,
    paused: result.paused,
  });
}

async function backfill(ctx: ApiContext, params: string[], req: ApiRequest): Promise<ApiResponse> {
  const flowId = flowOf(ctx.target, params[0] ?? '').flow.id;
  const body = objectBody(req.body);
  const sourceId = optionalString(body, 'sourceId');
  const options = {
    from: requiredIso(body, 'from'),
    to: requiredIso(body, 'to'),
    ...(sourceId ? { sourceId } : {}),
    ratePerSecond: rateOf(body),
    now: ctx.now,
  };
  if (isDryRun(req)) {
    const preview = await backfillFlow(ctx.target, flowId, { ...options, dryRun: true });
    const message = `Backfill ${flowId} (${preview.sourceId}) from ${preview.from} to ${preview.to}: re-reads that window and enqueues the ${plural(preview.events, 'event')} it finds at ${options.ratePerSecond}/s; the live watermark does not move, and what was already done is not done twice.${preview.paused ? ' The flow is paused: they wait on its queue until it is resumed.' : ''}${preview.note ? ` Note: ${preview.note}` : ''}${preview.refusedPastRetention ? ` Refused if started here: ${preview.refusedPastRetention}` : ''}`;
    return ok({ preview, message });
  }
  const job = ctx.jobs.start('backfill', flowId, (progress) =>
    backfillFlow(ctx.target, flowId, { ...options, onProgress: progress }),
  );
  return { status: 202, body: { job } };
}

async function job(ctx: ApiContext, params: string[]): Promise<ApiResponse> {
  const found = ctx.jobs.get(params[0] ?? '');
  if (!found) throw new ConsoleApiError(404, `no job ${params[0]} (jobs are kept while the console runs)`);
  return ok(found);
}

function sandboxOf(ctx: ApiContext): SandboxConsole {
  if (!ctx.sandbox) throw new ConsoleApiError(404, 'not a sandbox');
  return ctx.sandbox;
}

const routes: { method: string; pattern: RegExp; handler: Handler }[] = [
  { method: 'GET', pattern: /^\/api\/overview$/, handler: overview },
  { method: 'GET', pattern: /^\/api\/runs$/, handler: runsPage },
  { method: 'GET', pattern: /^\/api\/events\/([^/]+)$/, handler: eventStory },
  { method: 'GET', pattern: /^\/api\/failures$/, handler: failures },
  { method: 'POST', pattern: /^\/api\/flows\/([^/]+)\/replay$/, handler: replay },
  {
    method: 'POST',
    pattern: /^\/api\/flows\/([^/]+)\/pause$/,
    handler: (ctx, p, req) => pauseOrResume(ctx, p, req, true),
  },
  {
    method: 'POST',
    pattern: /^\/api\/flows\/([^/]+)\/resume$/,
    handler: (ctx, p, req) => pauseOrResume(ctx, p, req, false),
  },
  { method: 'POST', pattern: /^\/api\/flows\/([^/]+)\/backfill$/, handler: backfill },
  { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)$/, handler: job },
  { method: 'GET', pattern: /^\/api\/sandbox$/, handler: async (ctx) => ok(await sandboxOf(ctx).view()) },
  {
    method: 'POST',
    pattern: /^\/api\/sandbox\/machines\/([^/]+)\/(down|up)$/,
    handler: async (ctx, [id = '', action]) =>
      ok(await sandboxOf(ctx).machine(id, action === 'down' ? 'down' : 'up')),
  },
  {
    method: 'POST',
    pattern: /^\/api\/sandbox\/parts\/([^/]+)\/consume$/,
    handler: async (ctx, [id = ''], req) => {
      const quantity = objectBody(req.body).quantity ?? 1;
      if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1) {
        throw new ConsoleApiError(400, 'quantity must be a whole number of at least 1');
      }
      return ok(await sandboxOf(ctx).consume(id, quantity));
    },
  },
];

/** Which route a method and path name: its handler and the decoded path parameters. */
export function matchRoute(
  method: string,
  path: string,
): { handler: Handler; params: string[] } | { status: 404 | 405 } {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    try {
      return { handler: route.handler, params: m.slice(1).map((p) => decodeURIComponent(p)) };
    } catch {
      return { status: 404 };
    }
  }
  return { status: pathMatched ? 405 : 404 };
}

/** One API request to its JSON answer; operator errors become 400/404 with their message. */
export async function handleApi(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  const found = matchRoute(req.method, req.path);
  if ('status' in found) {
    return {
      status: found.status,
      body: {
        error: found.status === 405 ? `${req.method} is not allowed on ${req.path}` : 'no such API route',
      },
    };
  }
  try {
    return await found.handler(ctx, found.params, req);
  } catch (error) {
    return errorResponse(error);
  }
}

export function errorResponse(error: unknown): ApiResponse {
  if (error instanceof ConsoleApiError) return { status: error.status, body: { error: error.message } };
  if (error instanceof UnknownFlowError) return { status: 404, body: { error: error.message } };
  if (error instanceof MillwrightError) return { status: 400, body: { error: error.message } };
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: message } };
}
