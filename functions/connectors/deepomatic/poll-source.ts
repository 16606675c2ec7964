/**
 * The `deepomatic.open-work-orders` poll source. Deepomatic sends nothing (no webhooks) and has no
 * list endpoint (reference §4, §7.2), so the work orders to follow are kept in the StateStore set
 * DEEPOMATIC_OPEN_SET (`putMember(set, deepomaticId, {cmms, cmmsWorkOrderId, name}, {untilRemoved})` when a flow
 * creates one, `deleteMember` when it is concluded). Each run walks the whole set in id order, a
 * page (`pageSize`) at a time, GETs each work order and emits:
 *
 * - `deepomatic.work-order.changed` when its progress_score, review_date or task states differ from
 *   the last run (a member seen for the first time always emits: its last state is unknown);
 * - `deepomatic.work-order.deleted` when Deepomatic answers its documented not-found (404
 *   `{"detail": "WorkOrder not found!"}`); any other 404 is a wrong route (DeepomaticRouteNotFoundError,
 *   fatal below), never a deletion. The member is then removed from the
 *   set, but only after the step carrying the event was enqueued and saved (code after `yield` runs
 *   once the runtime asks for the next step), so a crash in between re-emits the same event id.
 *
 * Event ids are deterministic: `deepomatic:<id>:<update_date>:<fingerprint>` for a change (the
 * fingerprint, 16 hex of the sha256 of score + review + task states, keeps two states distinct even
 * if Deepomatic did not move update_date between them) and `deepomatic:<id>:deleted`.
 *
 * Poll state `{ seen: { [deepomaticId]: fingerprint } }`, one step per page: a step's state holds the
 * fingerprints of the members walked so far, the old entries of ids after the page (not walked yet),
 * and nothing for ids before it that are no longer in the set, so the state only ever holds current
 * members (about 60 bytes each; DynamoDB's 400 KB item allows several thousand open work orders).
 * A crash before enqueueing repeats the same page from the same state with the same event ids.
 *
 * A work order whose body cannot be parsed (VendorResponseError) is skipped, not a failure: the
 * others are handled, and the page's step reports it in `skipped` (the runtime logs it, writes a
 * run-log entry and counts it). It stays followed and keeps its old fingerprint, so it is read again
 * at every run and judged as soon as it parses; until then it is reported at every run, with the time
 * it was first found unreadable (`unreadable` in the poll state), so an operator sees for how long
 * its CMMS work order has been waiting.
 *
 * Errors: a member whose GET fails for other reasons of its own (a 4xx other than 401/403/429) or
 * whose set data is invalid (our own data) is logged and skipped (its old fingerprint is kept, so it
 * is judged again next run) and the run ends with a DeepomaticPollError once every member was walked.
 * Anything else (auth, 429, 5xx, network, a 404 that is not the documented not-found) stops the walk after handing over the page read so far,
 * then throws.
 */

import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { ConfigError, isRetryable, MillwrightError, VendorResponseError } from '../../core/errors.ts';
import { defineEvents } from '../../core/events.ts';
import type { FlowEvent, PollSource, PollStep, SkippedRecord } from '../../core/flow.ts';
import type { Log } from '../../core/log.ts';
import { problemOf, type RecordProblem } from '../../core/records.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';
import type { StateStore } from '../../core/state.ts';
import { connectDeepomatic, type DeepomaticClient } from './client.ts';
import { DeepomaticApiError, DeepomaticInputError, DeepomaticRouteNotFoundError } from './errors.ts';
import type { DeepomaticWorkOrder } from './schemas.ts';

export const DEEPOMATIC_OPEN_WORK_ORDERS_POLL_SOURCE_ID = 'deepomatic.open-work-orders';
/** The StateStore set of the Deepomatic work orders being followed (member id = Deepomatic id). */
export const DEEPOMATIC_OPEN_SET = 'deepomatic-open-work-orders';
export const DEEPOMATIC_WORK_ORDER_CHANGED = 'deepomatic.work-order.changed';
export const DEEPOMATIC_WORK_ORDER_DELETED = 'deepomatic.work-order.deleted';
/** `source` of the events this poller emits. */
export const DEEPOMATIC_POLL_EVENT_SOURCE = 'deepomatic.poll';

const nonEmpty = lazySchema(() => z.string().check(z.minLength(1)));

/** The data of a DEEPOMATIC_OPEN_SET member. */
export const deepomaticOpenMemberSchema = lazySchema(() =>
  z.object({
    /** The CMMS the work order came from (`upkeep` today). */
    cmms: nonEmpty,
    cmmsWorkOrderId: nonEmpty,
    /** The Deepomatic work-order name (as created). */
    name: z.string(),
  }),
);
export type DeepomaticOpenMember = z.infer<typeof deepomaticOpenMemberSchema>;

/** `data` of a `deepomatic.work-order.changed` event. */
export const deepomaticWorkOrderChangedSchema = lazySchema(() =>
  z.object({
    /** Deepomatic work-order id (UUID). */
    id: nonEmpty,
    name: z.string(),
    cmms: nonEmpty,
    cmmsWorkOrderId: nonEmpty,
    /** 0..100. */
    progressScore: z.number(),
    reviewDate: z.nullable(z.string()),
    /** Deepomatic's update_date, as sent (ISO-8601 with microseconds). */
    updateDate: z.string(),
    /** By name (ids change with the application version); `state` as Deepomatic sent it, null = not analysed. */
    tasks: z.array(z.object({ name: z.string(), state: z.optional(z.unknown()) })),
    metadata: z.nullable(z.record(z.string(), z.unknown())),
  }),
);
export type DeepomaticWorkOrderChangedData = z.infer<typeof deepomaticWorkOrderChangedSchema>;

/** `data` of a `deepomatic.work-order.deleted` event (Deepomatic answered 404). */
export const deepomaticWorkOrderDeletedSchema = lazySchema(() =>
  z.object({
    id: nonEmpty,
    name: z.string(),
    cmms: nonEmpty,
    cmmsWorkOrderId: nonEmpty,
  }),
);
export type DeepomaticWorkOrderDeletedData = z.infer<typeof deepomaticWorkOrderDeletedSchema>;

/** A followed work order's progress or review changed; or it was deleted in Deepomatic. */
export const deepomaticEvents = defineEvents('deepomatic', {
  'work-order.changed': {
    schema: deepomaticWorkOrderChangedSchema,
    description: 'Work order progress or review changed',
  },
  'work-order.deleted': {
    schema: deepomaticWorkOrderDeletedSchema,
    description: 'Work order gone (404)',
  },
});

export const deepomaticOpenWorkOrdersPollOptionsSchema = lazySchema(() =>
  z.object({
    /** Members read from the set per page (one poll step per page). */
    pageSize: z._default(z.int().check(z.gte(1), z.lte(1000)), 100),
    /** GETs in flight at once within a page (events keep the set's id order). */
    concurrency: z._default(z.int().check(z.gte(1), z.lte(16)), 4),
  }),
);
/** What a flow passes (defaults optional). */
export type DeepomaticOpenWorkOrdersPollOptions = z.input<typeof deepomaticOpenWorkOrdersPollOptionsSchema>;
export type ResolvedDeepomaticOpenWorkOrdersPollOptions = z.output<
  typeof deepomaticOpenWorkOrdersPollOptionsSchema
>;

export const deepomaticOpenWorkOrdersPollStateSchema = lazySchema(() =>
  z.object({
    /** Deepomatic id -> fingerprint of what the last event carried. */
    seen: z.record(z.string(), z.string()),
    /** Deepomatic id -> when its body was first found unparseable (absent when none is). */
    unreadable: z.optional(z.record(z.string(), z.string())),
  }),
);
export type DeepomaticOpenWorkOrdersPollState = z.infer<typeof deepomaticOpenWorkOrdersPollStateSchema>;

export interface DeepomaticOpenWorkOrdersPollDeps {
  client: Pick<DeepomaticClient, 'getWorkOrder'>;
  /** The StateStore holding DEEPOMATIC_OPEN_SET. */
  members: Pick<StateStore, 'listMembers' | 'deleteMember'>;
}

/** Members that could not be judged this run (the rest were). Retryable when every cause is. */
export class DeepomaticPollError extends MillwrightError {
  constructor(readonly failures: readonly { id: string; error: unknown }[]) {
    const shown = failures
      .slice(0, 5)
      .map((f) => `${f.id}: ${(f.error as Error)?.message ?? String(f.error)}`)
      .join('; ');
    const more = failures.length > 5 ? ` (+${failures.length - 5} more)` : '';
    super(`deepomatic poll: ${failures.length} open work order(s) could not be read: ${shown}${more}`, {
      cause: failures[0]?.error,
      retryable: failures.every((f) => isRetryable(f.error)),
    });
  }
}

/** Apply defaults and validate; a ConfigError names the bad option. */
export const resolveDeepomaticOpenWorkOrdersPollOptions = (
  options: unknown,
): ResolvedDeepomaticOpenWorkOrdersPollOptions =>
  parseWith(
    deepomaticOpenWorkOrdersPollOptionsSchema,
    options ?? {},
    (p) => new ConfigError(`options.${p.path}`, p.message),
  );

/** JSON with object keys sorted, so equal states always hash alike. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** 16 hex of the sha256 of what a change is about: progress, review and task states (by task name). */
export function workOrderFingerprint(
  wo: Pick<DeepomaticWorkOrder, 'progress_score' | 'review_date' | 'tasks'>,
): string {
  const tasks = wo.tasks
    .map((t) => [t.name, t.state ?? null] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(stableJson([wo.progress_score, wo.review_date, tasks]), 'utf8')
    .digest('hex')
    .slice(0, 16);
}

export const changedEventId = (wo: Pick<DeepomaticWorkOrder, 'id' | 'update_date'>, fingerprint: string) =>
  `deepomatic:${wo.id}:${wo.update_date}:${fingerprint}`;
export const deletedEventId = (id: string) => `deepomatic:${id}:deleted`;

const isoOr = (value: string, fallback: Date): string => {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? fallback.toISOString() : new Date(ms).toISOString();
};

/** A failure that concerns this member only; the walk goes on. */
const memberOnly = (error: unknown): boolean =>
  error instanceof DeepomaticInputError ||
  (error instanceof DeepomaticApiError &&
    // A wrong route fails every member alike: stop the walk (the member may well exist).
    !(error instanceof DeepomaticRouteNotFoundError) &&
    error.status >= 400 &&
    error.status < 500 &&
    ![401, 403, 429].includes(error.status));

/** `fn` over `items` with at most `limit` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

type Inspection =
  | { kind: 'found'; id: string; member: DeepomaticOpenMember; wo: DeepomaticWorkOrder }
  | { kind: 'gone'; id: string; member: DeepomaticOpenMember }
  | { kind: 'failed'; id: string; error: unknown; fatal: boolean }
  /** The body did not parse: skipped (reported), followed on. */
  | { kind: 'unreadable'; id: string; member: DeepomaticOpenMember; problem: RecordProblem }
  /** Not read: an earlier GET of the page failed for every member (auth, outage). */
  | { kind: 'skipped'; id: string };

/** What a run knows of each member: the last run's state and what this run has walked so far. */
interface Walk {
  previous: Record<string, string>;
  previousUnreadable: Record<string, string>;
  /** Fingerprints of the members walked so far (present in the set). */
  walked: Record<string, string>;
  /** Members walked so far whose body did not parse -> since when. */
  unreadable: Record<string, string>;
}

const startWalk = (state: DeepomaticOpenWorkOrdersPollState | undefined): Walk => ({
  previous: state?.seen ?? {},
  previousUnreadable: state?.unreadable ?? {},
  walked: {},
  unreadable: {},
});

/** State after walking up to `last` (undefined: the whole set): walked + old entries not reached yet. */
function stateAt(walk: Walk, last: string | undefined): DeepomaticOpenWorkOrdersPollState {
  const ahead = <T>(old: Record<string, T>) =>
    last === undefined ? {} : Object.fromEntries(Object.entries(old).filter(([id]) => id > last));
  const stillUnreadable = { ...ahead(walk.previousUnreadable), ...walk.unreadable };
  return {
    seen: { ...ahead(walk.previous), ...walk.walked },
    ...(Object.keys(stillUnreadable).length > 0 ? { unreadable: stillUnreadable } : {}),
  };
}

/** Not read this run: what we knew of it is kept. */
function keep(walk: Walk, id: string): void {
  if (walk.previous[id] !== undefined) walk.walked[id] = walk.previous[id] as string;
  if (walk.previousUnreadable[id] !== undefined) walk.unreadable[id] = walk.previousUnreadable[id] as string;
}

/** GETs one member's work order; once a failure is fatal, the members after it are skipped. */
function memberInspector(
  client: DeepomaticOpenWorkOrdersPollDeps['client'],
): (entry: { id: string; data: unknown }) => Promise<Inspection> {
  let abort = false;
  return async (entry) => {
    const parsed = deepomaticOpenMemberSchema.safeParse(entry.data);
    if (!parsed.success) {
      const error = new MillwrightError(
        `member ${entry.id} of ${DEEPOMATIC_OPEN_SET} has invalid data (expected {cmms, cmmsWorkOrderId, name})`,
      );
      return { kind: 'failed', id: entry.id, error, fatal: false };
    }
    if (abort) return { kind: 'skipped', id: entry.id };
    try {
      const wo = await client.getWorkOrder(entry.id);
      return wo
        ? { kind: 'found', id: entry.id, member: parsed.data, wo }
        : { kind: 'gone', id: entry.id, member: parsed.data };
    } catch (error) {
      if (error instanceof VendorResponseError) {
        return {
          kind: 'unreadable',
          id: entry.id,
          member: parsed.data,
          problem: problemOf(entry.id, error),
        };
      }
      const fatal = !memberOnly(error);
      // Stop reading the page: the next GETs would fail alike (and each 401 re-reads the secret).
      if (fatal) abort = true;
      return { kind: 'failed', id: entry.id, error, fatal };
    }
  };
}

const deletedEvent = (r: Extract<Inspection, { kind: 'gone' }>, now: Date): FlowEvent => ({
  id: deletedEventId(r.id),
  type: DEEPOMATIC_WORK_ORDER_DELETED,
  source: DEEPOMATIC_POLL_EVENT_SOURCE,
  occurredAt: now.toISOString(),
  subject: r.id,
  data: {
    id: r.id,
    name: r.member.name,
    cmms: r.member.cmms,
    cmmsWorkOrderId: r.member.cmmsWorkOrderId,
  } satisfies DeepomaticWorkOrderDeletedData,
});

/** Records the work order's fingerprint; its event when that differs from the last run's. */
function changedEvent(
  walk: Walk,
  r: Extract<Inspection, { kind: 'found' }>,
  now: Date,
): FlowEvent | undefined {
  const { wo, member } = r;
  const fingerprint = workOrderFingerprint(wo);
  walk.walked[r.id] = fingerprint;
  if (walk.previous[r.id] === fingerprint) return undefined;
  return {
    id: changedEventId(wo, fingerprint),
    type: DEEPOMATIC_WORK_ORDER_CHANGED,
    source: DEEPOMATIC_POLL_EVENT_SOURCE,
    occurredAt: isoOr(wo.update_date, now),
    subject: wo.id,
    data: {
      id: wo.id,
      name: wo.name,
      cmms: member.cmms,
      cmmsWorkOrderId: member.cmmsWorkOrderId,
      progressScore: wo.progress_score,
      reviewDate: wo.review_date,
      updateDate: wo.update_date,
      tasks: wo.tasks.map((t) => ({ name: t.name, state: t.state ?? null })),
      metadata: wo.metadata,
    } satisfies DeepomaticWorkOrderChangedData,
  };
}

/** Still followed: its old fingerprint is kept, so it is judged once it parses. */
function unreadableRecord(
  walk: Walk,
  r: Extract<Inspection, { kind: 'unreadable' }>,
  now: Date,
): SkippedRecord {
  if (walk.previous[r.id] !== undefined) walk.walked[r.id] = walk.previous[r.id] as string;
  const since = walk.previousUnreadable[r.id] ?? now.toISOString();
  walk.unreadable[r.id] = since;
  return {
    kind: 'Deepomatic work order',
    ...r.problem,
    next: `its ${r.member.cmms} work order ${r.member.cmmsWorkOrderId} waits: not judged while unreadable (since ${since}), read again at every poll`,
  };
}

/** What one page's inspections come to. */
interface PageOutcome {
  events: FlowEvent[];
  skipped: SkippedRecord[];
  /** Deepomatic answered 404: to leave the set once their events are enqueued. */
  gone: string[];
  /** Members not read (failed or skipped). */
  failed: number;
  /** The first failure that stops the run (auth, 429, 5xx, network). */
  fatal: unknown;
}

/** Judge a page in the set's id order; member-only failures are added to `failures`. */
function judgePage(
  results: readonly Inspection[],
  walk: Walk,
  failures: { id: string; error: unknown }[],
  now: Date,
  log: Log,
): PageOutcome {
  const page: PageOutcome = { events: [], skipped: [], gone: [], failed: 0, fatal: undefined };
  for (const r of results) {
    switch (r.kind) {
      case 'skipped':
        page.failed++;
        keep(walk, r.id);
        break;
      case 'failed':
        page.failed++;
        keep(walk, r.id);
        if (r.fatal) page.fatal ??= r.error;
        else failures.push({ id: r.id, error: r.error });
        log.error('deepomatic poll: open work order not read', {
          source: DEEPOMATIC_OPEN_WORK_ORDERS_POLL_SOURCE_ID,
          id: r.id,
          error: (r.error as Error)?.message ?? String(r.error),
        });
        break;
      case 'unreadable':
        page.skipped.push(unreadableRecord(walk, r, now));
        break;
      case 'gone':
        page.gone.push(r.id);
        page.events.push(deletedEvent(r, now));
        break;
      case 'found': {
        const event = changedEvent(walk, r, now);
        if (event) page.events.push(event);
      }
    }
  }
  return page;
}

/** The step of one page; `last` is where the walk stands (undefined: the end of the set). */
function pageStep(
  walk: Walk,
  outcome: PageOutcome,
  at: { page: number; listed: number; last: string | undefined },
): PollStep<DeepomaticOpenWorkOrdersPollState> {
  const { events, gone, failed, skipped } = outcome;
  const changed = events.length - gone.length;
  return {
    events,
    state: stateAt(walk, at.last),
    summary:
      `page ${at.page}: ${at.listed} open work order${at.listed === 1 ? '' : 's'} listed, ` +
      `${changed} changed, ${gone.length} deleted${failed > 0 ? `, ${failed} not read` : ''}`,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

/**
 * The step after the last page, when it changes anything: it drops the old entries past the last
 * member (they left the set). A run over an empty set always has it.
 */
function endStep(
  walk: Walk,
  cursor: string | undefined,
  pages: number,
  total: number,
): PollStep<DeepomaticOpenWorkOrdersPollState> | undefined {
  const final = stateAt(walk, undefined);
  if (pages > 0 && JSON.stringify(stateAt(walk, cursor)) === JSON.stringify(final)) return undefined;
  return {
    events: [],
    state: final,
    summary: pages === 0 ? 'no open Deepomatic work orders' : `${total} open work orders walked`,
  };
}

/** Stop following the deleted work orders (their events are enqueued and the state saved). */
async function forgetGone(
  members: DeepomaticOpenWorkOrdersPollDeps['members'],
  gone: readonly string[],
  log: Log,
): Promise<void> {
  for (const id of gone) {
    try {
      await members.deleteMember(DEEPOMATIC_OPEN_SET, id);
    } catch (error) {
      log.warn('deepomatic poll: could not remove a deleted work order from the open set', {
        id,
        error: (error as Error)?.message ?? String(error),
      });
    }
  }
}

export const deepomaticOpenWorkOrdersPollSource: PollSource<
  DeepomaticOpenWorkOrdersPollOptions,
  DeepomaticOpenWorkOrdersPollState,
  DeepomaticOpenWorkOrdersPollDeps,
  typeof deepomaticEvents
> = {
  id: DEEPOMATIC_OPEN_WORK_ORDERS_POLL_SOURCE_ID,
  vendor: 'deepomatic',
  events: deepomaticEvents,
  stateSchema: deepomaticOpenWorkOrdersPollStateSchema,
  connect: (env) => ({ client: connectDeepomatic(env), members: env.state }),
  // No backfill: there is no window to re-read.
  backfillNote:
    'Cannot backfill: Deepomatic has no list or history endpoint, so this source has no time window to ' +
    're-read. It follows the work orders still open (a set in the state table) and GETs their current ' +
    "state on every run; a change it missed is seen on its next run, and a work order's past states are gone.",

  async *poll({ state, options, now, deps, log }) {
    const o = resolveDeepomaticOpenWorkOrdersPollOptions(options);
    const walk = startWalk(state);
    const inspect = memberInspector(deps.client);
    const failures: { id: string; error: unknown }[] = [];
    let cursor: string | undefined;
    let page = 0;
    let total = 0;
    for (;;) {
      const members = await deps.members.listMembers<unknown>(DEEPOMATIC_OPEN_SET, {
        limit: o.pageSize,
        ...(cursor !== undefined ? { after: cursor } : {}),
      });
      if (members.length === 0) {
        const step = endStep(walk, cursor, page, total);
        if (step) yield step;
        break;
      }
      page++;
      total += members.length;
      const outcome = judgePage(await mapLimit(members, o.concurrency, inspect), walk, failures, now, log);
      cursor = members[members.length - 1]?.id;
      // A short page is the end: nothing after it is in the set any more.
      const end = members.length < o.pageSize;
      yield pageStep(walk, outcome, { page, listed: members.length, last: end ? undefined : cursor });
      // Runs once the runtime asks for the next step: the page's events are enqueued and saved.
      await forgetGone(deps.members, outcome.gone, log);
      if (outcome.fatal !== undefined) throw outcome.fatal;
      if (end) break;
    }
    if (failures.length > 0) throw new DeepomaticPollError(failures);
  },
};
