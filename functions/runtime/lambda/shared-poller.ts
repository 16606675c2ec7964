/**
 * Lambda entry glue for a poll group's poller (runtime/shared-poll.ts): one schedule, one vendor
 * read per step, each step's events enqueued to every member flow's queue (`QUEUE_URL_<i>`, in
 * member order). The flag in the table has the last word: it polls unless every member is paused.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { withInvocationDeadline } from '../../core/deadline.ts';
import { ConfigError } from '../../core/errors.ts';
import type { AnyFlow } from '../../core/flow.ts';
import { sqsQueue } from '../queue.ts';
import { planPollGroups, runSharedPoll } from '../shared-poll.ts';
import { type LambdaSettings, newLogger, requireEnv, validateFlowConfig } from './common.ts';
import { pollCompleted, pollGapsNeedAttention, pollMetrics } from './metrics.ts';
import { vendorEnv } from './vendor-env.ts';

export interface SharedPollerMember {
  flow: AnyFlow;
  /** The member's flow config (validated again here, at cold start). */
  flowConfig: unknown;
}

export function sharedPollerLambda(
  groupId: string,
  members: readonly SharedPollerMember[],
  settings: LambdaSettings,
) {
  const logger = newLogger(settings, groupId);
  const enabled = members.map((m) => ({ flow: m.flow, config: validateFlowConfig(m.flow, m.flowConfig) }));
  // The same grouping as lib/entries.ts made: one group of exactly these flows.
  const group = planPollGroups(enabled).groups[0];
  if (!group || group.members.length !== members.length) {
    throw new ConfigError(
      `pollers.${groupId}`,
      `flows ${members.map((m) => m.flow.id).join(', ')} do not share one poll`,
    );
  }
  const env = vendorEnv(settings, logger, group.members[0]?.flow.id);
  const deps = group.source.connect(env);
  const queueUrls = Object.fromEntries(members.map((m, i) => [m.flow.id, requireEnv(`QUEUE_URL_${i}`)]));
  const queue = sqsQueue();
  const metrics = pollMetrics(groupId, group.source.id, settings.deployment);
  const tick = async () => {
    const paused = await Promise.all(
      members.map(async (m) => (await env.state.getFlowControl(m.flow.id))?.paused),
    );
    if (paused.every(Boolean)) {
      env.log.info(`${groupId}/${group.source.id}: every flow it feeds is paused; not polling`);
      pollCompleted(metrics);
      return { source: group.source.id, steps: 0, events: 0, skipped: 0, summaries: [], stoppedBy: 'paused' };
    }
    const result = await runSharedPoll({ group, env, queue, queueUrls, deps });
    pollGapsNeedAttention(
      members.map((m) => m.flow.id),
      result.gaps,
      undefined,
      undefined,
      settings.deployment,
    );
    pollCompleted(metrics);
    return result;
  };
  // Vendor calls give up in time for the run to record how it went (core/deadline.ts).
  return middy((_event: ScheduledEvent, context: Context) =>
    withInvocationDeadline(Date.now() + context.getRemainingTimeInMillis(), tick),
  )
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
