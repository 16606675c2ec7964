/**
 * `millwright parked ...`: events the worker parked as needing attention (an unanswered create it
 * must not send again, a wait that outlived its budget). Each is kept in the state table with its
 * message body until an operator replays it (after checking what its `check` says) or discards it.
 * Also the two repairs those checks name, so the CLI can offer them as commands.
 */
import { forgetUnconfirmedSend } from '../functions/core/claims.ts';
import { MillwrightError } from '../functions/core/errors.ts';
import type { ParkedEvent } from '../functions/core/state.ts';
import {
  adoptDeepomaticWorkOrder as adopt,
  FLOW_ID as DEEPOMATIC_REQUEST_FLOW,
} from '../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
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
  step: { act(p: Parked): Promise<void>; outcome: string; message: string; via?: string },
): Promise<ParkedResult> {
  const { selected, notFound } = selectParked(await target.state.listParked(flowId, MAX_PARKED), ids);
  const result: ParkedResult = {
    selected: selected.length,
    done: 0,
    notFound,
    dryRun: options.dryRun === true,
    events: selected.map(withoutBody),
  };
  if (options.dryRun) return result;
  const now = options.now ?? (() => new Date());
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
      message: step.message,
      at,
      ...(step.via ? { via: step.via } : {}),
    });
  }
  return result;
}

/**
 * Put parked events back on their flow's queue (`via=replay`), then clear them: send before
 * remove, so a crash in between replays one twice at worst, which the flow's claims absorb.
 */
export async function replayParked(
  target: Target,
  flowId: string,
  ids: readonly string[],
  options: { dryRun?: boolean; by?: string; now?: () => Date } = {},
): Promise<ParkedResult> {
  const flow = flowOf(target, flowId);
  return actOnParked(target, flowId, ids, options, {
    act: (p) => sendReplay(target, flow, p.body),
    outcome: 'replayed',
    message: `replayed from the parked events${byWhom(options.by)}`,
    via: 'replay',
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
export async function forgetSend(target: Target, key: string): Promise<void> {
  if (!key.trim()) throw new ParkedEventError('name the send to forget (the key in the check text)');
  await forgetUnconfirmedSend(target.state, key);
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
