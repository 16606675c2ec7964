/**
 * Loop prevention for UpKeep work orders, which several flows write and several flows watch (UpKeep
 * webhooks). Each write is remembered with the flow that made it; the webhook it causes is an
 * `echo` for that flow and a plain skip, naming the writer, for every other flow that receives it.
 * When the webhook's body names the version (id + updatedAt), the ingress finds the mark first and
 * does not enqueue it (upkeep/webhook.ts `ownWrite`); these checks cover the bodies that do not.
 */
import { UPKEEP_WORK_ORDER_ECHO, workOrderVersion } from '../../connectors/upkeep/webhook.ts';
import type { FlowContext, FlowResult } from '../../core/flow.ts';

/** Echo namespace of UpKeep work-order writes (any flow that writes one marks it here). */
export { UPKEEP_WORK_ORDER_ECHO };

type Ctx = Pick<FlowContext<unknown, unknown>, 'flowId' | 'state'>;

/** One instant, one key: our PATCH's answer and the webhook or re-read may write it differently. */
const version = (updatedAt: string) => workOrderVersion(updatedAt) ?? updatedAt;

/** Call after each work-order write, with the record UpKeep returned. */
export const rememberWorkOrderWrite = (ctx: Ctx, wo: { id: string; updatedAt: string }): Promise<void> =>
  ctx.state.markOwnWrite(UPKEEP_WORK_ORDER_ECHO, wo.id, version(wo.updatedAt), ctx.flowId);

/** What to answer when `wo` (as fetched after its webhook) is Millwright's own write; else undefined. */
export async function workOrderEcho(
  ctx: Ctx,
  wo: { id: string; updatedAt: string },
): Promise<FlowResult | undefined> {
  const by = await ctx.state.ownWriteBy(UPKEEP_WORK_ORDER_ECHO, wo.id, version(wo.updatedAt));
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
