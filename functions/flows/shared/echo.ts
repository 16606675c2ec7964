/**
 * Loop prevention for UpKeep work orders, which several flows write and several flows watch (UpKeep
 * webhooks). Each write is remembered with the flow that made it; the webhook it causes is an
 * `echo` for that flow and a plain skip, naming the writer, for every other flow that receives it.
 * When the webhook's body names the version (id + updatedAt), the ingress finds the mark first and
 * does not enqueue it (upkeep/webhook.ts `ownWrite`); these checks cover the bodies that do not.
 *
 * UpKeep fires the webhook as it commits, so it can be handled before our PATCH's answer, when the
 * version we wrote is not known yet. A write therefore leaves an intent first (`writeWorkOrder`);
 * a flow that meets an unanswered intent of ours on the record waits (NotReadyError, retried) rather
 * than take the version for a person's change, or a person's change made meanwhile for ours. A
 * write that failed (refused or unanswered) gives its intent up; one whose writer died holds for
 * OWN_WRITE_PENDING_MS.
 */
import { UPKEEP_WORK_ORDER_ECHO, workOrderVersion } from '../../connectors/upkeep/webhook.ts';
import { NotReadyError } from '../../core/errors.ts';
import type { FlowContext, FlowResult } from '../../core/flow.ts';

/** Echo namespace of UpKeep work-order writes (any flow that writes one marks it here). */
export { UPKEEP_WORK_ORDER_ECHO };

type Ctx = Pick<FlowContext<unknown, unknown>, 'flowId' | 'state'>;

/** One instant, one key: our PATCH's answer and the webhook or re-read may write it differently. */
const version = (updatedAt: string) => workOrderVersion(updatedAt) ?? updatedAt;

/**
 * How long an intent whose writer never settled it (a worker that died mid-request) holds a record's
 * echoes: longer than a PATCH with its client's retries takes (vendor timeouts are at most 120 s),
 * short enough that a person's change waits minutes, not hours (the worker's wait budget is hours).
 */
export const OWN_WRITE_PENDING_MS = 5 * 60_000;

/** Call after a create, with the record UpKeep returned (its id was not known before). */
export const rememberWorkOrderWrite = (ctx: Ctx, wo: { id: string; updatedAt: string }): Promise<void> =>
  ctx.state.markOwnWrite(UPKEEP_WORK_ORDER_ECHO, wo.id, version(wo.updatedAt), ctx.flowId);

/**
 * A write of work order `id` (`write` returns the record UpKeep answered), marked as ours before it
 * is sent (an intent) and after (its version), so its webhook is recognised even when it comes first.
 */
export async function writeWorkOrder<T extends { id: string; updatedAt: string }>(
  ctx: Ctx,
  id: string,
  write: () => Promise<T>,
): Promise<T> {
  const intent = await ctx.state.intendOwnWrite(UPKEEP_WORK_ORDER_ECHO, id, ctx.flowId);
  let wo: T;
  try {
    wo = await write();
  } catch (error) {
    // No answer will name its version now (refused, or unanswered: then its echo, if it landed,
    // cannot be told from a person's change and counts as one): stop holding the record's echoes.
    await ctx.state.forgetOwnWriteIntent(UPKEEP_WORK_ORDER_ECHO, id, intent).catch(() => undefined);
    throw error;
  }
  await ctx.state.markOwnWrite(UPKEEP_WORK_ORDER_ECHO, wo.id, version(wo.updatedAt), ctx.flowId, intent);
  return wo;
}

/**
 * What to answer when the version a webhook is about is Millwright's own write; else undefined. That
 * version is the one the webhook's body names (`named`, its `updatedAt`) when it names one, else the
 * re-read `wo`'s: a person's change whose webhook is handled after a later write of ours re-reads our
 * version, and is the person's all the same. (A body naming our version was dropped at the ingress.)
 */
export async function workOrderEcho(
  ctx: Ctx,
  wo: { id: string; updatedAt: string },
  named?: string,
): Promise<FlowResult | undefined> {
  const about = named ?? wo.updatedAt;
  const { by, pending } = await ctx.state.ownWriteOf(
    UPKEEP_WORK_ORDER_ECHO,
    wo.id,
    version(about),
    OWN_WRITE_PENDING_MS,
  );
  if (pending) {
    throw new NotReadyError(
      `the answer to Millwright's write of work order ${wo.id} (flow ${pending.by}, sent ${pending.at}): until then version ${about} cannot be told from a person's change`,
    );
  }
  if (by === undefined) return undefined;
  if (by === ctx.flowId) {
    return {
      outcome: 'echo',
      message: `work order ${wo.id} changed by this flow's own write; not forwarded`,
    };
  }
  return {
    outcome: 'skipped',
    message: `work order ${wo.id} was changed by Millwright (flow ${by}), not by a person; nothing to do`,
  };
}

/** What a Millwright create writes in a work order's description, before its `[millwright:<flow>:...]` marker. */
export const CREATED_BY_MILLWRIGHT = 'Created by Millwright.';
const CREATED_LINE = /Created by Millwright\. \[millwright:([A-Za-z0-9_-]+):/;

/**
 * The flow that created this work order (its description's creation line), else undefined. A
 * WORK_ORDER_CREATED webhook comes as UpKeep commits, before our create's answer and so before its
 * echo mark (whose id only the answer names): the line is what tells that creation is ours.
 */
export function createdByMillwright(wo: { description?: string | null }): string | undefined {
  return CREATED_LINE.exec(wo.description ?? '')?.[1];
}
