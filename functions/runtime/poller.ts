/**
 * The generic poller: runs one flow's poll source from its stored state, enqueues each step's
 * events, reports the records the step skipped, and only then saves the step's state (watermark +
 * per-entity state). A crash between the two repeats the step on the next run with the same event
 * ids (the worker's claims absorb them) and at worst reports a skipped record twice, never not at all.
 */

import { CircuitOpenError } from '../core/errors.ts';
import type { AnyFlow, PollSource, RuntimeEnv, ScheduleTrigger, SkippedRecord } from '../core/flow.ts';
import { ConcurrentUpdateError, type PollRunRecord } from '../core/state.ts';
import { loadSourceState, saveSourceState } from './poll-state.ts';
import type { EventQueue } from './queue.ts';

export interface PollRunOptions {
  flow: AnyFlow;
  trigger: ScheduleTrigger;
  config: unknown;
  env: RuntimeEnv;
  queue: EventQueue;
  queueUrl: string;
  /** Clients created by the source, cached by the caller across runs (module scope in Lambda). */
  deps: unknown;
}

export interface PollRunSummary {
  source: string;
  steps: number;
  events: number;
  /** Vendor records read but not parsed (each has a WARN line and a run-log entry). */
  skipped: number;
  /**
   * Of `skipped`, stretches of vendor data the poll did not read (SkippedRecord `gap`): each raises
   * the flow's needs-attention alarm (lambda/poller.ts) until a person backfills it.
   */
  gaps?: number;
  summaries: string[];
  stoppedBy?: string;
}

export const pollStateKey = (flowId: string, sourceId: string) => `${flowId}#${sourceId}`;

/** `run-log` outcome and event type of a skipped record. */
export const SKIPPED_OUTCOME = 'skipped';
export const skippedEventType = (sourceId: string) => `${sourceId}.record-skipped`;

/** What a maintenance engineer reads: `UpKeep part P-17 skipped: quantity: expected ... (got "abc")`. */
export const describeSkipped = (s: SkippedRecord, flowId?: string): string =>
  `${s.kind} ${s.record} skipped: ${s.field ? `${s.field}: ` : ''}${s.message}${s.next ? `; ${s.next}` : ''}` +
  (s.gap
    ? `; needs attention: backfill it with \`npx millwright backfill ${flowId ?? '<flow>'} --from ${s.gap.from} --to ${s.gap.to}\``
    : '');

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** WARN line + run-log entry per skipped record (25 writes at a time); backfills report theirs the same way. */
export async function reportSkipped(
  env: RuntimeEnv,
  flowId: string,
  sourceId: string,
  skipped: readonly SkippedRecord[],
): Promise<void> {
  const at = env.now().toISOString();
  for (const s of skipped) {
    env.log.warn(`${flowId}/${sourceId}: ${describeSkipped(s, flowId)}`, {
      flow: flowId,
      source: sourceId,
      record: s.record,
      field: s.field,
    });
  }
  for (let i = 0; i < skipped.length; i += 25) {
    await Promise.all(
      skipped.slice(i, i + 25).map((s) =>
        env.state.appendRun({
          flowId,
          eventId: `${sourceId}:${s.record}`,
          eventType: skippedEventType(sourceId),
          outcome: SKIPPED_OUTCOME,
          message: describeSkipped(s, flowId),
          at,
        }),
      ),
    );
  }
}

/**
 * Run a poll source once and remember how it went (`millwright status` shows the last run of each
 * source: when, what it found, or the error that stopped it).
 */
export async function runPoll(options: PollRunOptions): Promise<PollRunSummary> {
  const { flow, trigger, env } = options;
  const key = pollStateKey(flow.id, trigger.source.id);
  const at = env.now().toISOString();
  const remember = (run: Omit<PollRunRecord, 'at'>) =>
    env.state.recordPollRun(key, { at, ...run }).catch((error: unknown) => {
      env.log.warn(`${flow.id}/${trigger.source.id}: could not record the poll run: ${String(error)}`);
    });
  try {
    const summary = await pollOnce(options);
    await remember({
      summary: summary.summaries.join('; ') || 'nothing new',
      events: summary.events,
      skipped: summary.skipped,
    });
    return summary;
  } catch (error) {
    if (error instanceof CircuitOpenError) {
      // The vendor account's breaker is open (core/breaker.ts): nothing was sent, the watermark stays
      // where the last completed step left it, and the next tick after the open period tries again.
      // One WARN line, not a failed invocation with a stack trace: the breaker has its own alarm.
      env.log.warn(`${flow.id}/${trigger.source.id}: not polled this tick: ${error.message}`);
      await remember({ summary: 'held: circuit breaker open', events: 0, skipped: 0, error: error.message });
      return {
        source: trigger.source.id,
        steps: 0,
        events: 0,
        skipped: 0,
        summaries: [],
        stoppedBy: `circuit breaker ${error.key} open`,
      };
    }
    await remember({
      summary: 'failed',
      events: 0,
      skipped: 0,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    throw error;
  }
}

/** One run without its run record (the shared poll's first run catches members up with it). */
export async function pollOnce(options: PollRunOptions): Promise<PollRunSummary> {
  const { flow, trigger, config, env, queue, queueUrl, deps } = options;
  // biome-ignore lint/suspicious/noExplicitAny: options are validated by the source's own schema.
  const source = trigger.source as PollSource<any, any, any>;
  const key = pollStateKey(flow.id, source.id);
  const loaded = await loadSourceState<unknown>(env.state, key, source);
  const state = loaded.state;
  let saved = loaded.saved;
  const summary: PollRunSummary = { source: source.id, steps: 0, events: 0, skipped: 0, summaries: [] };

  for await (const step of source.poll({
    state,
    options: trigger.options(config),
    now: env.now(),
    deps,
    log: env.log,
  })) {
    await queue.send(queueUrl, step.events);
    // A skipped record is "handled" once reported: only then may the state move past it.
    const skipped = step.skipped ?? [];
    await reportSkipped(env, flow.id, source.id, skipped);
    try {
      saved = await saveSourceState(env.state, key, source, step.state, saved, {
        now: env.now(),
        log: env.log,
      });
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError)) throw error;
      // Another run advanced the watermark; what we enqueued is deduplicated downstream.
      summary.stoppedBy = 'a concurrent poll run';
      env.log.warn(`${flow.id}/${source.id}: concurrent poll run detected; stopping`);
      break;
    }
    summary.steps++;
    summary.events += step.events.length;
    summary.skipped += skipped.length;
    const gaps = skipped.filter((s) => s.gap).length;
    if (gaps > 0) summary.gaps = (summary.gaps ?? 0) + gaps;
    const line =
      skipped.length > 0 ? `${step.summary}; ${plural(skipped.length, 'record')} skipped` : step.summary;
    summary.summaries.push(line);
    env.log.info(`${flow.id}/${source.id}: ${line}`, {
      events: step.events.length,
      ...(skipped.length > 0 ? { skipped: skipped.length } : {}),
    });
  }
  return summary;
}
