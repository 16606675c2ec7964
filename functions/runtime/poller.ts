/**
 * The generic poller: runs one flow's poll source from its stored state, enqueues each step's
 * events, and only then saves the step's state (watermark + per-entity state). A crash between the
 * two repeats the step on the next run with the same event ids; the worker's claims absorb them.
 */

import { ConfigError } from '../core/errors.ts';
import type { AnyFlow, PollSource, RuntimeEnv, ScheduleTrigger } from '../core/flow.ts';
import { parseWith } from '../core/schema.ts';
import { ConcurrentUpdateError } from '../core/state.ts';
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
  summaries: string[];
  stoppedBy?: string;
}

export const pollStateKey = (flowId: string, sourceId: string) => `${flowId}#${sourceId}`;

export async function runPoll(options: PollRunOptions): Promise<PollRunSummary> {
  const { flow, trigger, config, env, queue, queueUrl, deps } = options;
  // biome-ignore lint/suspicious/noExplicitAny: options are validated by the source's own schema.
  const source = trigger.source as PollSource<any, any, any>;
  const key = pollStateKey(flow.id, source.id);
  const stored = await env.state.loadPollState<unknown>(key);
  const state = stored
    ? parseWith(
        source.stateSchema,
        stored.data,
        (p) => new ConfigError(`poll state ${key}.${p.path}`, p.message),
      )
    : undefined;
  let version = stored?.version;
  const summary: PollRunSummary = { source: source.id, steps: 0, events: 0, summaries: [] };

  for await (const step of source.poll({
    state,
    options: trigger.options(config),
    now: env.now(),
    deps,
    log: env.log,
  })) {
    await queue.send(queueUrl, step.events);
    try {
      version = await env.state.savePollState(key, step.state, version);
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError)) throw error;
      // Another run advanced the watermark; what we enqueued is deduplicated downstream.
      summary.stoppedBy = 'a concurrent poll run';
      env.log.warn(`${flow.id}/${source.id}: concurrent poll run detected; stopping`);
      break;
    }
    summary.steps++;
    summary.events += step.events.length;
    summary.summaries.push(step.summary);
    env.log.info(`${flow.id}/${source.id}: ${step.summary}`, { events: step.events.length });
  }
  return summary;
}
