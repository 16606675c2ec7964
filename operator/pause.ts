/**
 * `millwright pause FLOW` / `resume FLOW`. The flag in the state table (`FLOW#<flow>`/`CONTROL`) is
 * the switch `status` shows and the sandbox's event source mapping and scheduler obey; the target's
 * `switches` do the rest where there is more to switch (a stack: the worker's event source mapping
 * and the pollers' schedules).
 *
 * Nothing is lost while a flow is paused: webhooks are still accepted and enqueued, and SQS keeps
 * every message (for the queue's retention period, 4 days by default) until the flow is resumed.
 * Resuming drains them: the worker takes them in batches again and runs the records of one subject
 * in a batch one at a time, in order, holding back the later ones behind any that is put off
 * (functions/runtime/worker.ts), so a machine's "ended" does not overtake its "started". Pollers
 * start again from their watermark, so the changes made during the pause are caught up.
 */
import { MillwrightError } from '../functions/core/errors.ts';
import { queueDepth, totalOf } from './queue-depth.ts';
import { flowOf, type Target } from './target.ts';

/** The flag was written but the platform switch failed: the flow is half switched; run it again. */
export class FlowSwitchError extends MillwrightError {}

export interface PauseResult {
  flowId: string;
  paused: boolean;
  /** What was done, one line each, for people. */
  lines: string[];
  /** Messages on the flow's queue (waiting, in flight and delayed). */
  queued: number;
}

export interface PauseOptions {
  /** Who did it (`$USER`), kept with the flag. */
  by?: string;
  /** ISO time now (tests). */
  now?: () => Date;
}

export const pauseFlow = (target: Target, flowId: string, options: PauseOptions = {}) =>
  setPaused(target, flowId, true, options);

export const resumeFlow = (target: Target, flowId: string, options: PauseOptions = {}) =>
  setPaused(target, flowId, false, options);

async function setPaused(
  target: Target,
  flowId: string,
  paused: boolean,
  options: PauseOptions,
): Promise<PauseResult> {
  const flow = flowOf(target, flowId);
  const before = await target.state.getFlowControl(flowId);
  const at = (options.now ?? (() => new Date()))().toISOString();
  const lines: string[] = [];
  if ((before?.paused ?? false) === paused) {
    lines.push(
      paused ? `already paused since ${before?.at}${before?.by ? ` by ${before.by}` : ''}` : 'was not paused',
    );
  }
  // Pausing: flag first, so the sandbox stops at once even if the platform switch fails.
  // Resuming: platform first, so a failure leaves the flow paused everywhere, not half resumed.
  const writeFlag = async () => {
    await target.state.setFlowControl(flowId, { paused, at, ...(options.by ? { by: options.by } : {}) });
    lines.push(`${paused ? 'paused' : 'resumed'} in the state table (FLOW#${flowId}/CONTROL)`);
  };
  if (paused) await writeFlag();
  try {
    lines.push(...(await target.switches.set(flow, paused)));
  } catch (error) {
    throw new FlowSwitchError(
      `${flowId}: ${paused ? 'pause' : 'resume'} ${paused ? 'recorded, but' : 'failed:'} the ${target.kind === 'stack' ? "stack's event source mapping or schedules" : 'platform'} could not be switched (${error instanceof Error ? error.message : String(error)}); run it again`,
      { cause: error },
    );
  }
  if (!paused) await writeFlag();
  const queued = totalOf(await queueDepth(target.sqs, flow.queueUrl));
  lines.push(
    paused
      ? `${queued} message(s) on its queue; new events keep arriving there and wait until it is resumed`
      : `${queued} message(s) on its queue are processed now, in order per subject`,
  );
  return { flowId, paused, lines, queued };
}

/** Is the flow paused (its flag in the state table), and since when, by whom. */
export async function flowPaused(
  target: Target,
  flowId: string,
): Promise<{ paused: boolean; at?: string; by?: string }> {
  flowOf(target, flowId);
  const control = await target.state.getFlowControl(flowId);
  return {
    paused: control?.paused === true,
    ...(control?.at ? { at: control.at } : {}),
    ...(control?.by ? { by: control.by } : {}),
  };
}
