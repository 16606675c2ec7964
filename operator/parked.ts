/**
 * `millwright parked ...`: events the worker parked as needing attention (an unanswered create it
 * must not send again, a wait that outlived its budget). Each is kept in the state table with its
 * message body until an operator replays it (after checking what its `check` says) or discards it.
 * Also the two repairs those checks name, so the CLI can offer them as commands.
 */
import { forgetUnconfirmedSend, hasUnconfirmedSend } from '../functions/core/claims.ts';
import { MillwrightError } from '../functions/core/errors.ts';
import { PARKED_REPLAY_VIA } from '../functions/core/flow.ts';
import type { ParkedEvent } from '../functions/core/state.ts';
import {
  adoptDeepomaticWorkOrder as adopt,
  FLOW_ID as DEEPOMATIC_REQUEST_FLOW,
} from '../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { MAX_HORIZON_SECONDS } from '../functions/runtime/retry.ts';
import { byWhom, sendReplay } from './replay.ts';
import { flowOf, type Target } from './target.ts';

export class ParkedEventError extends MillwrightError {}

/** A parked event and the id `replay`/`discard` take (its key in the table). */
export type Parked = ParkedEvent & { id: string };

/** How many parked events of one flow are read (an operator clears them long before this). */
const MAX_PARKED = 1000;

/** Parked events of one flow, or of every flow the target runs; newest first per flow. */
export async function listParked(target: Target, flowId?: string): Promise<Parked[]> {
  const flows = flowId ? [flowOf(target, flowId).flow.id] : [...target.flows.keys()];
  const lists = await Promise.all(flows.map((id) => target.state.listParked(id, MAX_PARKED)));
  return lists.flat();
}

export interface ParkedChoice {
  selected: Parked[];
  /** Ids that matched no parked event of the flow. */
  notFound: string[];
}

/** The parked events named by their id or their event id. */
export function selectParked(parked: readonly Parked[], ids: readonly string[]): ParkedChoice {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) throw new ParkedEventError('name the parked events (their id or event id)');
  const set = new Set(wanted);
  return {
    selected: parked.filter((p) => set.has(p.id) || set.has(p.eventId)),
    notFound: wanted.filter((id) => !parked.some((p) => p.id === id || p.eventId === id)),
  };
}

export interface ParkedResult {
  selected: number;
  /** Event ids of the chosen events parked so long ago that their claims and marks may be gone. */
  pastRetention: string[];
  /** Replayed or discarded. */
  done: number;
  notFound: string[];
  dryRun: boolean;
  events: Omit<Parked, 'body'>[];
}

const withoutBody = ({ body: _, ...rest }: Parked) => rest;

/**
 * Act on the chosen parked events of a flow, one at a time: `act` (send, or nothing), then clear the
 * item, then the run-log entry. A dry run only says what would be chosen.
 */
async function actOnParked(
  target: Target,
  flowId: string,
  ids: readonly string[],
  options: { dryRun?: boolean; now?: () => Date },
  step: {
    /** Checks the whole choice before anything is done (throws to refuse); returns ids to report. */
    guard?(selected: readonly Parked[], now: Date): string[];
    act(p: Parked): Promise<void>;
    outcome: string;
    message: string | ((p: Parked) => string);
    via?: string;
  },
): Promise<ParkedResult> {
  const { selected, notFound } = selectParked(await target.state.listParked(flowId, MAX_PARKED), ids);
  const result: ParkedResult = {
    selected: selected.length,
    pastRetention: [],
    done: 0,
    notFound,
    dryRun: options.dryRun === true,
    events: selected.map(withoutBody),
  };
  const now = options.now ?? (() => new Date());
  const guard = step.guard?.(selected, now());
  result.pastRetention = guard ?? [];
  if (options.dryRun) return result;
  for (const p of selected) {
    const at = now().toISOString();
    await step.act(p);
    await target.state.removeParked(flowId, p.id);
    result.done++;
    await target.state.appendRun({
      flowId,
      eventId: p.eventId,
      eventType: p.eventType,
      ...(p.subject ? { subject: p.subject } : {}),
      outcome: step.outcome,
      message: typeof step.message === 'string' ? step.message : step.message(p),
      at,
      ...(step.via ? { via: step.via } : {}),
    });
  }
  return result;
}

const DAY_MS = 86_400_000;

/**
 * How old a parked event may be for its replay to be safe: its claim, send intent and order mark
 * expire `retentionDays` after they were written (DynamoDB TTL), which may be up to a retry horizon
 * before it was parked, and TTL deletion is lazy, so a day more of margin.
 */
export const safeReplayAgeMs = (retentionDays: number): number =>
  retentionDays * DAY_MS - MAX_HORIZON_SECONDS * 1000 - DAY_MS;

/** The chosen events parked longer ago than their replay is safe, oldest first. */
function pastRetention(selected: readonly Parked[], now: Date, retentionDays: number): Parked[] {
  const limit = safeReplayAgeMs(retentionDays);
  return selected
    .filter((p) => !(now.getTime() - Date.parse(p.at) < limit))
    .sort((a, b) => a.at.localeCompare(b.at));
}

const daysSince = (at: string, now: Date) => Math.floor((now.getTime() - Date.parse(at)) / DAY_MS);

/**
 * Put parked events back on their flow's queue (`via=parked-replay`: a flow may act on what it
 * parked only then, not on a DLQ replay of another copy), then clear them: send before
 * remove, so a crash in between replays one twice at worst, which the flow's claims absorb.
 * An event parked so long ago that its claim, send intent or order mark may have expired is refused
 * (nothing sent, nothing cleared): its replay could act a second time or apply an older state over
 * a newer one. `pastRetention: true` replays it anyway, after the operator checked the vendor.
 */
export async function replayParked(
  target: Target,
  flowId: string,
  ids: readonly string[],
  options: { dryRun?: boolean; by?: string; now?: () => Date; pastRetention?: boolean } = {},
): Promise<ParkedResult> {
  const flow = flowOf(target, flowId);
  const days = target.state.retentionDays;
  const old = new Set<string>();
  return actOnParked(target, flowId, ids, options, {
    guard(selected, now) {
      const stale = pastRetention(selected, now, days);
      for (const p of stale) old.add(p.id);
      if (stale.length > 0 && !options.pastRetention && !options.dryRun) {
        const list = stale.map((p) => `${p.eventId} (parked ${daysSince(p.at, now)} days ago)`).join(', ');
        throw new ParkedEventError(
          `refusing to replay ${list}: the claims, send intents and order marks that keep a replay from acting twice or undoing newer changes are kept ${days} days (less the retry horizon), so they may be gone and a replay could act again or apply an older state. Check the vendor for its effect, then discard the event, or replay it with --past-retention to act anyway. Nothing was replayed.`,
        );
      }
      return stale.map((p) => p.eventId);
    },
    act: (p) => sendReplay(target, flow, p.body, {}, PARKED_REPLAY_VIA),
    outcome: 'replayed',
    message: (p) =>
      `replayed from the parked events${byWhom(options.by)}${old.has(p.id) ? ` past the ${days}-day retention of its claims and order marks (--past-retention)` : ''}`,
    via: PARKED_REPLAY_VIA,
  });
}

/** Drop parked events for good, with the operator's reason in the run log. */
export async function discardParked(
  target: Target,
  flowId: string,
  ids: readonly string[],
  options: { reason: string; by?: string; dryRun?: boolean; now?: () => Date },
): Promise<ParkedResult> {
  flowOf(target, flowId);
  if (!options.reason.trim()) throw new ParkedEventError('say why the events are discarded (--reason)');
  return actOnParked(target, flowId, ids, options, {
    act: async () => undefined,
    outcome: 'discarded',
    message: `discarded${byWhom(options.by)}: ${options.reason.trim()}`,
  });
}

/**
 * After a parked unanswered send, the operator looked at the vendor and found nothing: forget the
 * send (the key is in the parked event's check), so a replay sends it again.
 */
export async function forgetSend(target: Target, key: string): Promise<{ forgotten: boolean }> {
  if (!key.trim()) throw new ParkedEventError('name the send to forget (the key in the check text)');
  // A mistyped key would otherwise "forget" nothing and report success; the replay would park again.
  if (!(await hasUnconfirmedSend(target.state, key))) return { forgotten: false };
  await forgetUnconfirmedSend(target.state, key);
  return { forgotten: true };
}

/**
 * After a parked unanswered Deepomatic create, the operator found the work order in Deepomatic:
 * adopt it for the UpKeep work order, so the replayed event finds it (`duplicate`) instead of
 * creating another. The name prefix is the flow's configured one.
 */
export async function adoptDeepomaticWorkOrder(
  target: Target,
  flowId: string,
  workOrderId: string,
  deepomaticId: string,
): Promise<void> {
  const flow = flowOf(target, flowId);
  if (flow.flow.id !== DEEPOMATIC_REQUEST_FLOW) {
    throw new ParkedEventError(`${flowId} creates no Deepomatic work orders: nothing to adopt`);
  }
  const prefix = (flow.config as { deepomatic?: { namePrefix?: string } }).deepomatic?.namePrefix;
  await adopt(target.state, flowId, workOrderId, deepomaticId, prefix);
}
