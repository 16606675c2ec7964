/** Lambda entry glue for a flow's poller (EventBridge Scheduler). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { withInvocationDeadline } from '../../core/deadline.ts';
import { ConfigError } from '../../core/errors.ts';
import type { AnyFlow } from '../../core/flow.ts';
import { runPoll } from '../poller.ts';
import { sqsQueue } from '../queue.ts';
import { type LambdaSettings, newLogger, requireEnv, validateFlowConfig } from './common.ts';
import { pollCompleted, pollGapsNeedAttention, pollMetrics } from './metrics.ts';
import { vendorEnv } from './vendor-env.ts';

export function pollerLambda(flow: AnyFlow, triggerIndex: number, settings: LambdaSettings) {
  const trigger = flow.triggers[triggerIndex];
  if (trigger?.kind !== 'schedule')
    throw new ConfigError(`flows.${flow.id}.triggers[${triggerIndex}]`, 'not a schedule');
  const logger = newLogger(settings, `${flow.id}-poller`);
  const env = vendorEnv(settings, logger, flow.id);
  const config = validateFlowConfig(flow, settings.flowConfig);
  const deps = trigger.source.connect(env);
  const queueUrl = requireEnv('QUEUE_URL');
  const queue = sqsQueue();
  const metrics = pollMetrics(flow.id, trigger.source.id, settings.deployment);
  const tick = async () => {
    // `millwright pause` disables the schedule; a later `cdk deploy` may enable it again, so the
    // flag in the table has the last word (one GetItem per tick): a paused flow's watermark stays.
    if ((await env.state.getFlowControl(flow.id))?.paused) {
      env.log.info(
        `${flow.id}/${trigger.source.id}: flow paused (millwright resume ${flow.id}); not polling`,
      );
      // A paused tick completed too: the missed-run alarm is for pollers that fail or never run.
      pollCompleted(metrics);
      return {
        source: trigger.source.id,
        steps: 0,
        events: 0,
        skipped: 0,
        summaries: [],
        stoppedBy: 'paused',
      };
    }
    const result = await runPoll({ flow, trigger, config, env, queue, queueUrl, deps });
    pollGapsNeedAttention([flow.id], result.gaps, undefined, undefined, settings.deployment);
    // Only a tick that returned: a throw (the tick failed) leaves the count missing, and N
    // intervals without one raise the poller's alarm (lib/constructs/alarms.ts).
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
