/**
 * Alarms that reach a person (issue 12): the SNS topic (created with its own key, or imported from
 * `alarms.topicArn`) and its e-mail subscriptions, every alarm notifying it on ALARM and OK, the
 * scheduler's retry policy and dead-letter queue, and the per-flow outcome graphs on the dashboard.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ConfigError } from '../../functions/core/errors.ts';
import {
  CIRCUIT_OPEN_SECONDS_METRIC,
  EVENT_OUTCOMES,
  METRIC_NAMESPACE,
  outcomeDimensions,
  outcomeMetricName,
  POLL_COMPLETED_METRIC,
  pollDimensions,
} from '../../functions/runtime/metrics.ts';
import { planPollGroups } from '../../functions/runtime/shared-poll.ts';
import { type BuiltApp, buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';

const CONFIG = join(PROJECT_ROOT, 'config/default.json');
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:plant-a-oncall';

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}

interface Synth {
  built: BuiltApp;
  template: Template;
  resources: Record<string, Resource>;
}

function synth(path: string): Synth {
  const built = buildApp(path, NO_BUNDLING);
  const flat = flatTemplate(built.stack);
  return {
    built,
    template: Template.fromJSON(flat),
    resources: flat.Resources as Record<string, Resource>,
  };
}

const ofType = (s: Synth, type: string): [string, Resource][] =>
  Object.entries(s.resources).filter(([, r]) => r.Type === type);

const alarms = (s: Synth) => ofType(s, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);

/** The schedule triggers of the enabled flows, each with its interval. */
/** Each poller: a flow's own schedule trigger, or a poll group's (named by the group's id). */
const polls = (s: Synth) => {
  const { groups, ownPoll } = planPollGroups(s.built.deployment.enabled);
  return [
    ...s.built.deployment.enabled.flatMap(({ flow, config }) =>
      flow.triggers.flatMap((t, i) =>
        t.kind === 'schedule' && ownPoll(flow.id, i)
          ? [{ flowId: flow.id, sourceId: t.source.id, everyMinutes: t.everyMinutes(config) }]
          : [],
      ),
    ),
    ...groups.map((g) => ({ flowId: g.id, sourceId: g.source.id, everyMinutes: g.everyMinutes })),
  ];
};

let dir: string;
const base = JSON.parse(readFileSync(CONFIG, 'utf8')) as Json;
const withAlarms = (name: string, alarmsConfig: unknown): string => {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ ...base, alarms: alarmsConfig }));
  return path;
};

let created: Synth;
let topicId: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-alarms-'));
  created = synth(CONFIG);
  const topics = ofType(created, 'AWS::SNS::Topic');
  expect(topics).toHaveLength(1);
  topicId = topics[0]?.[0] ?? '';
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the alarm topic (created)', () => {
  it('is encrypted with a rotated key CloudWatch may use, and refuses non-TLS publishing', () => {
    const [, topic] = ofType(created, 'AWS::SNS::Topic')[0] as [string, Resource];
    const keyId = (topic.Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const key = created.resources[keyId] as Resource;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const statements = (key.Properties.KeyPolicy as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Effect: 'Allow',
      }),
    );
    created.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it("lets CloudWatch publish to it: its own policy replaces SNS's default one, so the TLS-only deny alone would refuse every alarm", () => {
    const [, policy] = ofType(created, 'AWS::SNS::TopicPolicy')[0] as [string, Resource];
    expect(policy.Properties.Topics).toEqual([{ Ref: topicId }]);
    const statements = (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        // Only this account's alarms (no confused deputy).
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    );
  });

  it('has no subscription when the config names no e-mail', () => {
    created.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('is what every alarm notifies, when it fires and when it clears', () => {
    const all = alarms(created);
    expect(all.length).toBeGreaterThan(0);
    for (const alarm of all) {
      expect({ name: alarm.AlarmDescription, actions: alarm.AlarmActions }).toEqual({
        name: alarm.AlarmDescription,
        actions: [{ Ref: topicId }],
      });
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
  });
});

describe('alarms', () => {
  /** The alarms on `metric` of the resource `dimension` = `value`. */
  const on = (metric: string, dimensionValue: unknown) =>
    alarms(created).filter(
      (a) =>
        a.MetricName === metric &&
        JSON.stringify(a.Dimensions).includes(JSON.stringify(dimensionValue).slice(1, -1)),
    );

  it('per flow: DLQ depth, needs-attention, oldest message age, worker errors and throttles', () => {
    const { stack, deployment } = created.built;
    for (const [flowId, worker] of stack.workers) {
      const queueId = stack.flowStacks.get(flowId)?.getLogicalId(worker.queue.node.defaultChild as never);
      const dlqId = stack.flowStacks
        .get(flowId)
        ?.getLogicalId(worker.deadLetterQueue.node.defaultChild as never);
      const workerId = stack.flowStacks.get(flowId)?.getLogicalId(worker.worker.node.defaultChild as never);
      expect(on('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [dlqId, 'QueueName'] })).toEqual([
        expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
      ]);
      expect(on('ApproximateAgeOfOldestMessage', { 'Fn::GetAtt': [queueId, 'QueueName'] })).toEqual([
        expect.objectContaining({
          Threshold: deployment.alarms.oldestMessageMinutes * 60,
          ComparisonOperator: 'GreaterThanThreshold',
          Statistic: 'Maximum',
        }),
      ]);
      for (const metric of ['Errors', 'Throttles']) {
        expect(on(metric, { Ref: workerId })).toEqual([
          expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
        ]);
      }
      expect(
        alarms(created).filter(
          (a) => a.MetricName === 'NeedsAttention' && JSON.stringify(a.Dimensions).includes(`"${flowId}"`),
        ),
      ).toHaveLength(1);
    }
    expect(created.built.deployment.alarms).toMatchObject({
      oldestMessageMinutes: 30,
      pollerMissedIntervals: 3,
    });
  });

  it('per poller: errors, throttles, and no completed run in N intervals (missing data breaches)', () => {
    const { stack, deployment } = created.built;
    const expected = polls(created);
    expect(expected.length).toBe(stack.pollers.length);
    for (const poller of stack.pollers) {
      const flowStack = stack.flowStacks.get(poller.flowId) ?? stack.pollGroupStacks.get(poller.flowId);
      const fnId = flowStack?.getLogicalId(poller.poller.node.defaultChild as never);
      for (const metric of ['Errors', 'Throttles']) expect(on(metric, { Ref: fnId })).toHaveLength(1);
    }
    const byName = (d: { Name: string }[]) => [...d].sort((a, b) => a.Name.localeCompare(b.Name));
    for (const { flowId, sourceId, everyMinutes } of expected) {
      const dims = byName(
        Object.entries(pollDimensions(flowId, sourceId, deployment.name)).map(([Name, Value]) => ({
          Name,
          Value,
        })),
      );
      const missed = alarms(created).filter(
        (a) =>
          a.MetricName === POLL_COMPLETED_METRIC &&
          JSON.stringify(byName(a.Dimensions as { Name: string }[])) === JSON.stringify(dims),
      );
      expect(missed).toEqual([
        expect.objectContaining({
          Namespace: METRIC_NAMESPACE,
          Statistic: 'Sum',
          Period: Math.min(1440, everyMinutes * deployment.alarms.pollerMissedIntervals) * 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          TreatMissingData: 'breaching',
        }),
      ]);
    }
  });

  it('per vendor the enabled flows call: its circuit breaker open longer than alarms.circuitOpenMinutes', () => {
    const { deployment } = created.built;
    const vendors = [...new Set(deployment.enabled.flatMap(({ flow }) => flow.vendors))];
    expect(vendors.length).toBeGreaterThan(1);
    const breakerAlarms = alarms(created).filter((a) => a.MetricName === CIRCUIT_OPEN_SECONDS_METRIC);
    expect(breakerAlarms).toHaveLength(vendors.length);
    for (const vendor of vendors) {
      expect(
        breakerAlarms.filter(
          (a) =>
            JSON.stringify(a.Dimensions) ===
            JSON.stringify([
              { Name: 'deployment', Value: deployment.name },
              { Name: 'vendor', Value: vendor },
            ]),
        ),
      ).toEqual([
        expect.objectContaining({
          Namespace: METRIC_NAMESPACE,
          Statistic: 'Maximum',
          // maxOpenSeconds 300: every six-minute window holds a datapoint while events are held.
          Period: 6 * 60,
          EvaluationPeriods: 1,
          Threshold: 15 * 60,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          AlarmDescription: expect.stringContaining(`Vendor ${vendor}: its circuit breaker has been open`),
        }),
      ]);
    }
    expect(deployment.alarms.circuitOpenMinutes).toBe(15);
  });

  it('on the webhook ingress: API 5xx, function errors and throttles', () => {
    const ingress = created.built.stack.ingress;
    if (!ingress) throw new Error('the default config receives webhooks');
    const stack = created.built.stack;
    const apiId = stack.getLogicalId(ingress.api?.node.defaultChild as never);
    const fnId = stack.getLogicalId(ingress.ingress.node.defaultChild as never);
    expect(on('5xx', { Ref: apiId })).toEqual([
      expect.objectContaining({ Namespace: 'AWS/ApiGateway', Threshold: 1, Statistic: 'Sum' }),
    ]);
    for (const metric of ['Errors', 'Throttles']) expect(on(metric, { Ref: fnId })).toHaveLength(1);
  });
});

describe('scheduler targets', () => {
  it('retry twice within one interval, then put the tick on a per-flow encrypted DLQ with an alarm', () => {
    const schedules = ofType(created, 'AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(polls(created).length);
    const dlqs = new Set<string>();
    for (const [, schedule] of schedules) {
      const target = schedule.Properties.Target as Json;
      const minutes = Number(
        /rate\((\d+) minutes?\)/.exec(String(schedule.Properties.ScheduleExpression))?.[1],
      );
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: minutes * 60 });
      const dlqId = ((target.DeadLetterConfig as Json).Arn as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
      dlqs.add(dlqId);
      const dlq = created.resources[dlqId] as Resource;
      expect(dlq.Type).toBe('AWS::SQS::Queue');
      expect(dlq.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 86_400,
      });
      created.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: dlqId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      created.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Threshold: 1,
        AlarmActions: [{ Ref: topicId }],
      });
    }
    // One per flow with a poller.
    expect(dlqs.size).toBe(new Set(polls(created).map((p) => p.flowId)).size);
  });
});

describe('dashboard', () => {
  it('graphs each flow’s events by outcome, with the metric names and dimensions the worker emits', () => {
    const [, dashboard] = ofType(created, 'AWS::CloudWatch::Dashboard')[0] as [string, Resource];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const flowId of created.built.stack.workers.keys()) {
      expect(body).toContain(`${flowId}: events by outcome`);
      // CloudWatch's dashboard JSON lists a metric's dimensions by name.
      const dims = Object.entries(outcomeDimensions(flowId, created.built.deployment.name))
        .sort(([a], [b]) => a.localeCompare(b))
        .flat();
      for (const outcome of EVENT_OUTCOMES) {
        // The body is JSON inside a string: each metric is [namespace, name, dim, value, ...].
        const metric = JSON.stringify([METRIC_NAMESPACE, outcomeMetricName(outcome), ...dims]).slice(0, -1);
        expect(body).toContain(JSON.stringify(metric).slice(1, -1));
      }
    }
  });
});

describe('alarms config', () => {
  it('subscribes each e-mail and applies the thresholds', () => {
    const s = synth(
      withAlarms('emails', {
        emails: ['oncall@plant-a.example', 'maintenance-it@plant-a.example'],
        pollerMissedIntervals: 5,
        oldestMessageMinutes: 10,
        circuitOpenMinutes: 45,
      }),
    );
    expect(
      alarms(s)
        .filter((a) => a.MetricName === CIRCUIT_OPEN_SECONDS_METRIC)
        .map((a) => a.Threshold),
    ).toEqual(expect.arrayContaining([2700]));
    expect(
      new Set(
        alarms(s)
          .filter((a) => a.MetricName === CIRCUIT_OPEN_SECONDS_METRIC)
          .map((a) => a.Threshold),
      ),
    ).toEqual(new Set([2700]));
    const [id] = ofType(s, 'AWS::SNS::Topic')[0] as [string, Resource];
    s.template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['oncall@plant-a.example', 'maintenance-it@plant-a.example']) {
      s.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: email,
        TopicArn: { Ref: id },
      });
    }
    const all = alarms(s);
    expect(
      all.filter((a) => a.MetricName === 'ApproximateAgeOfOldestMessage').map((a) => a.Threshold),
    ).toEqual(s.built.deployment.enabled.map(() => 600));
    const [first] = polls(s);
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: POLL_COMPLETED_METRIC,
      Period: Math.min(1440, (first?.everyMinutes ?? 0) * 5) * 60,
    });
  });

  it('refuses a deploy to another region than the imported topic before creating anything', () => {
    // CloudWatch alarm actions (and an e-mail subscription without its own region) name a topic of
    // the alarm's region: otherwise the first deploy fails half-way at the first alarm and rolls back.
    const topicRules = (stack: Synth['built']['stack']) =>
      Object.values((Template.fromStack(stack).toJSON().Rules ?? {}) as Record<string, Json>).filter((r) =>
        JSON.stringify(r).includes('alarms.topicArn'),
      );
    expect(topicRules(synth(withAlarms('region', { topicArn: TOPIC_ARN })).built.stack)).toEqual([
      {
        Assertions: [
          {
            Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] },
            AssertDescription: expect.stringContaining('alarms.topicArn'),
          },
        ],
      },
    ]);
    expect(topicRules(created.built.stack)).toEqual([]);
  });

  it('passes cdk-nag (`cdk synth -c nag=true`) with e-mail subscriptions, created topic or imported', () => {
    for (const alarmsConfig of [
      { emails: ['oncall@plant-a.example'] },
      { topicArn: TOPIC_ARN, emails: ['oncall@plant-a.example'] },
    ]) {
      const { app } = synth(withAlarms('nag', alarmsConfig)).built;
      for (const pack of [new AwsSolutionsChecks(app), new ServerlessChecks(app)]) {
        const findings = pack
          .validateScope(app)
          .violations.map(
            (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
          );
        expect(findings).toEqual([]);
      }
    }
  });

  it('imports an existing topic: no topic or key created, every alarm notifies that ARN', () => {
    const s = synth(withAlarms('topic', { topicArn: TOPIC_ARN, emails: ['oncall@plant-a.example'] }));
    s.template.resourceCountIs('AWS::SNS::Topic', 0);
    s.template.resourceCountIs('AWS::KMS::Key', 0);
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: TOPIC_ARN,
      Endpoint: 'oncall@plant-a.example',
    });
    for (const alarm of alarms(s)) {
      expect(alarm.AlarmActions).toEqual([TOPIC_ARN]);
      expect(alarm.OKActions).toEqual([TOPIC_ARN]);
    }
  });

  const failure = (path: string): ConfigError => {
    try {
      buildApp(path, NO_BUNDLING);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected buildApp to fail');
  };

  it('fails naming alarms.topicArn when it is not a standard SNS topic ARN', () => {
    for (const arn of ['plant-a-oncall', `${TOPIC_ARN}.fifo`, 'arn:aws:sqs:eu-west-1:123456789012:q']) {
      expect(failure(withAlarms('bad-arn', { topicArn: arn })).path).toBe('alarms.topicArn');
    }
  });

  /** The synth warnings (what `cdk synth` prints, and `--strict` refuses) about alarm recipients. */
  const recipientWarnings = (s: Synth) =>
    Annotations.fromStack(s.built.stack)
      .findWarning('*', Match.stringLikeRegexp('alarm'))
      .map((w) => String(w.entry.data));

  it('warns at synth, naming the file and alarms.emails, when no alarm reaches a person', () => {
    const path = withAlarms('nobody', {});
    const warnings = recipientWarnings(synth(path));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path);
    expect(warnings[0]).toContain('alarms.emails');
    expect(warnings[0]).toContain('alarms.topicArn');
  });

  it('does not warn when the config names an e-mail or a topic', () => {
    expect(recipientWarnings(synth(withAlarms('email', { emails: ['oncall@plant-a.example'] })))).toEqual([]);
    expect(recipientWarnings(synth(withAlarms('arn', { topicArn: TOPIC_ARN })))).toEqual([]);
  });

  it('fails naming the e-mail listed twice (same address, any case), not with a construct error', () => {
    const error = failure(
      withAlarms('twice', {
        emails: ['oncall@plant-a.example', 'it@plant-a.example', 'OnCall@plant-a.example'],
      }),
    );
    expect(error.path).toBe('alarms.emails[2]');
    expect(error.message).toContain('alarms.emails[0]');
  });

  it('fails naming the e-mail that is not one', () => {
    expect(failure(withAlarms('bad-email', { emails: ['oncall@plant-a.example', 'oncall'] })).path).toBe(
      'alarms.emails[1]',
    );
  });
});
