/**
 * One poll feeding several flows: enabled flows whose schedule triggers use the same shareable
 * source (`PollSource.sharing`) with the same key form a group with one poller, one schedule and
 * one state (`POLL#shared#<source>#<hash of the key>`), so the vendor's data is read once per step,
 * not once per flow. The three MachineMetrics downtime flows with the same detector settings are
 * one group; a flow with another minimum polls on its own (its started event depends on it).
 *
 * Each step's events go to every member's queue, filtered to the subjects that member tracks, with
 * the same ids for every flow (as a webhook feeding several flows); all members' queues are
 * enqueued before the state is saved, so no event is lost. A paused member's queue still receives
 * (its messages wait, as webhooks do); the group polls unless every member is paused. Each member
 * keeps a poll-run record under its own key, so `millwright status` shows its last poll.
 *
 * First shared run: the members' own earlier states are merged. Those behind the latest watermark
 * are first caught up to it on their own (their events to their own queue), then the states,
 * all at one watermark, are merged: starting from the latest watermark alone would skip a lagging
 * flow's windows, from the earliest would replay the others' windows from states already past them.
 */
import { createHash } from 'node:crypto';
import { CircuitOpenError, MillwrightError } from '../core/errors.ts';
import type { AnyFlow, PollSharing, PollSource, RuntimeEnv, ScheduleTrigger } from '../core/flow.ts';
import { ConcurrentUpdateError, type PollRunRecord } from '../core/state.ts';
import { loadSourceState, saveSourceState } from './poll-state.ts';
import { type PollRunSummary, pollOnce, pollStateKey, reportSkipped } from './poller.ts';
import type { EventQueue } from './queue.ts';

// biome-ignore lint/suspicious/noExplicitAny: options, state and deps are the source's own.
type AnySource = PollSource<any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: the same.
type AnySharing = PollSharing<any, any>;

/** A flow's schedule trigger in a group. */
export interface PollMember {
  flow: AnyFlow;
  triggerIndex: number;
  config: unknown;
}

export interface PollGroup {
  /** `machinemetrics-downtime-poller` (`-2`, `-3` for further groups of the same source). */
  id: string;
  source: AnySource;
  /** The sharing key its members agree on. */
  key: string;
  /** Its state's key (`POLL#<stateKey>`). */
  stateKey: string;
  everyMinutes: number;
  members: PollMember[];
}

const triggerOf = (m: PollMember): ScheduleTrigger => {
  const trigger = m.flow.triggers[m.triggerIndex];
  if (trigger?.kind !== 'schedule')
    throw new Error(`flow ${m.flow.id} trigger ${m.triggerIndex} is not a schedule`);
  return trigger;
};

const memberKey = (flowId: string, triggerIndex: number) => `${flowId}#${triggerIndex}`;

/** The shared state's key: by source and settings, not members, so a flow joining keeps the state. */
export const sharedStateKey = (sourceId: string, key: string) =>
  `shared#${sourceId}#${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

/**
 * The deployment's poll groups: two or more enabled flows' schedule triggers of one shareable source
 * with the same key. Every other schedule trigger polls on its own, as before (`ownPoll`).
 */
export function planPollGroups(enabled: readonly { flow: AnyFlow; config: unknown }[]): {
  groups: PollGroup[];
  /** Whether this trigger polls on its own (it is in no group). */
  ownPoll: (flowId: string, triggerIndex: number) => boolean;
} {
  const byKey = new Map<string, { source: AnySource; key: string; members: PollMember[] }>();
  for (const { flow, config } of enabled) {
    flow.triggers.forEach((trigger, triggerIndex) => {
      if (trigger.kind !== 'schedule' || !trigger.source.sharing) return;
      const key = trigger.source.sharing.key(trigger.options(config));
      if (key === undefined) return;
      const id = `${trigger.source.id}\n${key}`;
      const group = byKey.get(id) ?? { source: trigger.source, key, members: [] };
      group.members.push({ flow, triggerIndex, config });
      byKey.set(id, group);
    });
  }
  const groups: PollGroup[] = [];
  const perSource = new Map<string, number>();
  for (const { source, key, members } of byKey.values()) {
    if (members.length < 2) continue;
    const n = (perSource.get(source.id) ?? 0) + 1;
    perSource.set(source.id, n);
    const base = `${source.id.replace(/[^A-Za-z0-9-]+/g, '-')}-poller`;
    groups.push({
      id: n === 1 ? base : `${base}-${n}`,
      source,
      key,
      stateKey: sharedStateKey(source.id, key),
      everyMinutes: Math.min(...members.map((m) => triggerOf(m).everyMinutes(m.config))),
      members,
    });
  }
  const grouped = new Set(groups.flatMap((g) => g.members.map((m) => memberKey(m.flow.id, m.triggerIndex))));
  return { groups, ownPoll: (flowId, triggerIndex) => !grouped.has(memberKey(flowId, triggerIndex)) };
}

/** The members' earlier states could not be brought to one watermark this run (tried again next tick). */
export class SharedPollMigrationError extends MillwrightError {
  constructor(group: string, detail: string) {
    super(`shared poll ${group}: the members' earlier states could not be merged yet: ${detail}`, {
      retryable: true,
    });
  }
}

export interface SharedPollOptions {
  group: PollGroup;
  env: RuntimeEnv;
  queue: EventQueue;
  /** Each member's queue URL, by flow id. */
  queueUrls: Readonly<Record<string, string>>;
  deps: unknown;
}

export interface SharedPollSummary extends PollRunSummary {
  /** Events enqueued per member flow. */
  perFlow: Record<string, number>;
}

const sharingOf = (group: PollGroup): AnySharing => {
  const sharing = group.source.sharing;
  if (!sharing) throw new Error(`poll source ${group.source.id} cannot be shared`);
  return sharing;
};

/** Run a group's poll once and record, under each member's key, how it went. */
export async function runSharedPoll(options: SharedPollOptions): Promise<SharedPollSummary> {
  const { group, env } = options;
  const at = env.now().toISOString();
  const remember = (run: (flowId: string) => Omit<PollRunRecord, 'at'>) =>
    Promise.all(
      group.members.map((m) =>
        env.state
          .recordPollRun(pollStateKey(m.flow.id, group.source.id), { at, ...run(m.flow.id) })
          .catch((error: unknown) => {
            env.log.warn(`${m.flow.id}/${group.source.id}: could not record the poll run: ${String(error)}`);
          }),
      ),
    );
  try {
    const summary = await sharedPollOnce(options);
    const line = summary.summaries.join('; ') || 'nothing new';
    await remember((flowId) => ({
      summary: `${line} (shared poll ${group.id})`,
      events: summary.perFlow[flowId] ?? 0,
      skipped: summary.skipped,
    }));
    return summary;
  } catch (error) {
    if (error instanceof CircuitOpenError) {
      env.log.warn(`${group.id}/${group.source.id}: not polled this tick: ${error.message}`);
      await remember(() => ({
        summary: 'held: circuit breaker open',
        events: 0,
        skipped: 0,
        error: error.message,
      }));
      return {
        source: group.source.id,
        steps: 0,
        events: 0,
        skipped: 0,
        summaries: [],
        perFlow: {},
        stoppedBy: `circuit breaker ${error.key} open`,
      };
    }
    await remember(() => ({
      summary: 'failed',
      events: 0,
      skipped: 0,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    }));
    throw error;
  }
}

interface Member {
  flow: AnyFlow;
  trigger: ScheduleTrigger;
  config: unknown;
  options: unknown;
  queueUrl: string;
  accepts: (subject: string | undefined) => boolean;
}

function membersOf(options: SharedPollOptions): Member[] {
  const sharing = sharingOf(options.group);
  return options.group.members.map((m) => {
    const trigger = triggerOf(m);
    const queueUrl = options.queueUrls[m.flow.id];
    if (!queueUrl) throw new Error(`shared poll ${options.group.id}: no queue URL for flow ${m.flow.id}`);
    const memberOptions = trigger.options(m.config);
    return {
      flow: m.flow,
      trigger,
      config: m.config,
      options: memberOptions,
      queueUrl,
      accepts: sharing.accepts(memberOptions),
    };
  });
}

async function sharedPollOnce(options: SharedPollOptions): Promise<SharedPollSummary> {
  const { group, env, queue, deps } = options;
  const source = group.source;
  const sharing = sharingOf(group);
  const members = membersOf(options);
  const loaded = await loadSourceState<unknown>(env.state, group.stateKey, source);
  let saved = loaded.saved;
  const state = loaded.state ?? (await mergedEarlierStates(options, members));
  const summary: SharedPollSummary = {
    source: source.id,
    steps: 0,
    events: 0,
    skipped: 0,
    summaries: [],
    perFlow: Object.fromEntries(members.map((m) => [m.flow.id, 0])),
  };
  const what = `${group.id}/${source.id}`;

  for await (const step of source.poll({
    state,
    options: sharing.merge(members.map((m) => m.options)),
    now: env.now(),
    deps,
    log: env.log,
  })) {
    const skipped = step.skipped ?? [];
    // Every member's share is enqueued (and its skipped records reported) before the state moves.
    await Promise.all(
      members.map(async (m) => {
        const events = step.events.filter((e) => m.accepts(e.subject));
        await queue.send(m.queueUrl, events);
        await reportSkipped(
          env,
          m.flow.id,
          source.id,
          // A gap is no machine's: every member's data went unread.
          skipped.filter((s) => s.gap !== undefined || m.accepts(s.record)),
        );
        (summary.perFlow as Record<string, number>)[m.flow.id] =
          (summary.perFlow[m.flow.id] ?? 0) + events.length;
      }),
    );
    try {
      saved = await saveSourceState(env.state, group.stateKey, source, step.state, saved, {
        now: env.now(),
        log: env.log,
      });
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError)) throw error;
      summary.stoppedBy = 'a concurrent poll run';
      env.log.warn(`${what}: concurrent poll run detected; stopping`);
      break;
    }
    summary.steps++;
    summary.events += step.events.length;
    summary.skipped += skipped.length;
    const gaps = skipped.filter((s) => s.gap).length;
    if (gaps > 0) summary.gaps = (summary.gaps ?? 0) + gaps;
    const line = skipped.length > 0 ? `${step.summary}; ${skipped.length} record(s) skipped` : step.summary;
    summary.summaries.push(line);
    env.log.info(`${what}: ${line}`, {
      events: step.events.length,
      flows: members.length,
      ...(skipped.length > 0 ? { skipped: skipped.length } : {}),
    });
  }
  if (loaded.state === undefined && state !== undefined && summary.steps === 0 && !summary.stoppedBy) {
    // Merged, and no window due yet: keep the merge (its events were enqueued by the members' runs).
    await saveSourceState(env.state, group.stateKey, source, state, saved, { now: env.now(), log: env.log });
  }
  return summary;
}

/**
 * The members' own earlier states (from when each polled on its own) as one state, or undefined
 * when none ever ran. Members behind the latest watermark are first caught up to it.
 */
async function mergedEarlierStates(options: SharedPollOptions, members: Member[]): Promise<unknown> {
  const { group, env, queue, deps } = options;
  const sharing = sharingOf(group);
  const load = async (m: Member) =>
    (await loadSourceState<unknown>(env.state, pollStateKey(m.flow.id, group.source.id), group.source)).state;
  let states = await Promise.all(members.map(load));
  const present = states.filter((s) => s !== undefined);
  if (present.length === 0) return undefined;
  const target = present.reduce((a, b) => (sharing.watermark(b) > sharing.watermark(a) ? b : a));
  const targetMark = sharing.watermark(target);
  const behind = members.filter((_, i) => {
    const s = states[i];
    return s !== undefined && sharing.watermark(s) < targetMark;
  });
  for (const m of behind) {
    env.log.info(`${group.id}: catching ${m.flow.id} up to the shared watermark before merging`);
    const catchUpNow = sharing.catchUpNow(target, m.options);
    await pollOnce({
      flow: m.flow,
      trigger: m.trigger,
      config: m.config,
      env: { ...env, now: () => catchUpNow },
      queue,
      queueUrl: m.queueUrl,
      deps,
    });
  }
  if (behind.length > 0) states = await Promise.all(members.map(load));
  const merged = states.filter((s) => s !== undefined);
  const lagging = merged.filter((s) => sharing.watermark(s) !== targetMark);
  if (lagging.length > 0) {
    throw new SharedPollMigrationError(
      group.id,
      `${lagging.length} member(s) did not reach the latest watermark`,
    );
  }
  env.log.info(`${group.id}: first shared run: merged the earlier states of ${merged.length} flow(s)`);
  return sharing.mergeStates(merged);
}

/** Where a flow's schedule trigger keeps its live poll state: its group's key, or its own. */
export function livePollStateKey(
  enabled: readonly { flow: AnyFlow; config: unknown }[],
  flowId: string,
  triggerIndex: number,
): string {
  const { groups } = planPollGroups(enabled);
  const group = groups.find((g) =>
    g.members.some((m) => m.flow.id === flowId && m.triggerIndex === triggerIndex),
  );
  if (group) return group.stateKey;
  const trigger = enabled.find((e) => e.flow.id === flowId)?.flow.triggers[triggerIndex];
  if (trigger?.kind !== 'schedule')
    throw new Error(`flow ${flowId} trigger ${triggerIndex} is not a schedule`);
  return pollStateKey(flowId, trigger.source.id);
}
