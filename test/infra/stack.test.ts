/**
 * The synthesized stack, checked as CloudFormation. One synth (bundling skipped) shared by every
 * assertion in this file; bad configs fail before anything is synthesized.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import * as z from 'zod/mini';
import { type Deployment, loadDeployment } from '../../functions/config/deployment.ts';
import { connectors } from '../../functions/connectors/index.ts';
import { ConfigError } from '../../functions/core/errors.ts';
import {
  type AnyFlow,
  defineFlow,
  type PollSource,
  type ScheduleTrigger,
  type Trigger,
  type VendorId,
  webhookEventsOf,
} from '../../functions/core/flow.ts';
import { flowModulePath, flows } from '../../functions/flows/index.ts';
import { emfLine, NEEDS_ATTENTION_METRIC } from '../../functions/runtime/metrics.ts';
import { DEFAULT_RETRY } from '../../functions/runtime/retry.ts';
import { planPollGroups } from '../../functions/runtime/shared-poll.ts';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT, planEntries } from '../../lib/entries.ts';
import { flowOutputKey, flowOutputSchema, OPERATOR_VERSION, webhookOutputKey } from '../../lib/outputs.ts';
import { stateActionsOf } from '../../lib/state-access.ts';
import { sandboxSecrets } from '../../sandbox/secrets.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';

const CONFIG = join(PROJECT_ROOT, 'config/default.json');
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const DOWNTIME_FLOW = 'machinemetrics-downtime-to-upkeep-work-order';
/** The downtime flows of the default config: same detector settings, so one shared poll (runtime/shared-poll.ts). */
const SHARED_POLL_FLOWS = [
  DOWNTIME_FLOW,
  'machinemetrics-downtime-to-mobility-work-task',
  'machinemetrics-downtime-to-click-maint-work-order',
];
const SHARED_POLLER = 'machinemetrics-downtime-poller';
/** The flows of the default config with a schedule trigger of their own (each gets a poller). */
const POLLED_FLOWS = [
  'upkeep-part-low-to-mobility-work-stock',
  'click-maint-part-low-to-mobility-work-stock',
  'deepomatic-validation-to-upkeep-work-order',
];
/** One route per connector that has a webhook receiver (functions/connectors/registry.ts). */
const WEBHOOK_ROUTES = connectors.flatMap((c) => (c.webhook ? [c.webhook.route] : [])).sort();
/** Each connector's secret name in the default config. */
const SECRET_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(
    (JSON.parse(readFileSync(CONFIG, 'utf8')) as { vendors: Record<string, { secretName: string }> }).vendors,
  ).map(([id, v]) => [id, v.secretName]),
);

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
}
interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

let app: App;
let deployment: Deployment;
let template: Template;
let resources: Record<string, Resource>;

const ofType = (type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

const only = <T>(items: readonly T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
};

/** `{ 'Fn::GetAtt': [id, attr] }` or `{ Ref: id }` -> id. */
const refId = (value: unknown): string => {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  const id = v.Ref ?? v['Fn::GetAtt']?.[0];
  if (!id) throw new Error(`not a Ref or GetAtt: ${JSON.stringify(value)}`);
  return id;
};

const functionWhere = (description: RegExp): [string, Resource] =>
  only(
    ofType('AWS::Lambda::Function').filter(([, r]) => description.test(String(r.Properties.Description))),
    `function described ${description}`,
  );

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const workerOf = (flowId: string): [string, Resource] =>
  functionWhere(new RegExp(`^Millwright worker: ${escapeRegExp(flowId)}$`));

const pollerOf = (flowId: string, trigger: ScheduleTrigger): [string, Resource] =>
  functionWhere(
    new RegExp(`^Millwright poller: ${escapeRegExp(flowId)} \\(${escapeRegExp(trigger.source.id)}, `),
  );

/** The queue feeding a flow's worker (the ARN of its SQS event source mapping) -> queue logical id. */
const queueOf = (flowId: string): string => {
  const [workerId] = workerOf(flowId);
  const [, mapping] = only(
    ofType('AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => refId(m.Properties.FunctionName) === workerId,
    ),
    `event source mapping of ${flowId}`,
  );
  return refId(mapping.Properties.EventSourceArn);
};

/** Each schedule trigger of the enabled flows that polls on its own, with its flow's config (one poller each). */
const scheduleTriggers = (): { flow: AnyFlow; config: unknown; trigger: ScheduleTrigger }[] =>
  deployment.enabled.flatMap(({ flow, config }) =>
    flow.triggers
      .filter((t): t is ScheduleTrigger => t.kind === 'schedule' && !SHARED_POLL_FLOWS.includes(flow.id))
      .map((trigger) => ({ flow, config, trigger })),
  );

/** The downtime flows' one poller. */
const sharedPoller = (): [string, Resource] => {
  const found = functionWhere(
    new RegExp(`^Millwright poller: ${SHARED_POLLER} for .* \\(machinemetrics\\.downtime, `),
  );
  const members = /for (.*) \(/.exec(String(found[1].Properties.Description))?.[1]?.split(', ');
  expect(members?.sort()).toEqual([...SHARED_POLL_FLOWS].sort());
  return found;
};

/** Event type -> ids of the flows whose webhook triggers subscribe to it. */
const subscribers = (registry: readonly AnyFlow[]): Map<string, Set<string>> => {
  const out = new Map<string, Set<string>>();
  for (const flow of registry) {
    for (const type of webhookEventsOf(flow)) out.set(type, (out.get(type) ?? new Set()).add(flow.id));
  }
  return out;
};

/** The routing the ingress should have: event type -> sorted queue ids of its subscribed flows. */
const expectedRouting = (
  registry: readonly AnyFlow[],
  queueIdOf: (flowId: string) => string,
): Record<string, string[]> =>
  Object.fromEntries(
    [...subscribers(registry)].map(([type, flowIds]) => [type, [...flowIds].map(queueIdOf).sort()]),
  );

/** The queue (logical id) with this `QueueName`. */
const queueNamed = (name: string): string =>
  only(
    ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.QueueName === name),
    `queue named ${name}`,
  )[0];

/**
 * The ingress's routing (event type -> queue names, bundled into its entry) -> event type -> sorted
 * logical ids of the queues, resolved through the template's queue names.
 */
const routingOf = (
  routing: Record<string, string[]> | undefined,
  idOfName: (name: string) => string = queueNamed,
): Record<string, string[]> => {
  if (!routing) throw new Error('the ingress entry carries no routing');
  return Object.fromEntries(
    Object.entries(routing).map(([type, names]) => [type, names.map(idOfName).sort()]),
  );
};

const ingressEntryOf = (d: Deployment) =>
  only(
    planEntries(d).filter((e) => e.kind === 'ingress'),
    'ingress entry',
  );

const statementsOf = (policy: Resource): Statement[] =>
  (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;

/** Statements of every AWS::IAM::Policy attached to the role. */
const roleStatements = (roleId: string): Statement[] =>
  ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => refId(r) === roleId))
    .flatMap(([, p]) => statementsOf(p));

const envOf = (fn: Resource): Json => (fn.Properties.Environment as { Variables: Json }).Variables;

beforeAll(() => {
  const built = buildApp(CONFIG, NO_BUNDLING);
  app = built.app;
  deployment = built.deployment;
  // The root stack and each flow's nested stack, as one template.
  const flat = flatTemplate(built.stack);
  template = Template.fromJSON(flat);
  resources = flat.Resources as Record<string, Resource>;
});

describe('webhook ingress', () => {
  it('exposes one HTTP API with a route per webhook receiver', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', WEBHOOK_ROUTES.length);
    for (const routeKey of WEBHOOK_ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey });
    }
    // One receiver (and route) per vendor the enabled flows receive webhooks from.
    const receiverRoutes = new Set(
      deployment.enabled.flatMap(({ flow }) =>
        flow.triggers.flatMap((t) => (t.kind === 'webhook' ? [t.receiver.route] : [])),
      ),
    );
    expect([...receiverRoutes].sort()).toEqual(WEBHOOK_ROUTES);
  });

  it('throttles the default stage with the configured rate and burst', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: deployment.runtime.webhookRateLimit,
        ThrottlingBurstLimit: deployment.runtime.webhookBurstLimit,
      },
    });
  });

  it('keeps URL paths (which carry the UpKeep token) out of the access log', () => {
    const [, stage] = only(ofType('AWS::ApiGatewayV2::Stage'), 'stage');
    const { Format } = stage.Properties.AccessLogSettings as { Format: string };
    expect(Format).toContain('$context.routeKey');
    expect(Format).not.toMatch(/\$context\.(path|resourcePath)/);
  });

  it('routes every subscribed event type to the queues of the subscribed flows', () => {
    // The default config enables every registered flow.
    expect(deployment.enabled.map((e) => e.flow.id)).toEqual(flows.map((f) => f.id));
    const routing = routingOf(ingressEntryOf(deployment).settings.routing);
    expect(routing).toEqual(expectedRouting(flows, queueOf));
    for (const type of [
      'machinemetrics.downtime.started',
      'upkeep.WORK_ORDER_STATUS_UPDATED',
      'mobility-work.SparePartWasOutOfStock',
      'mobility-work.TaskWasCompleted',
    ]) {
      expect(routing[type]?.length).toBeGreaterThan(0);
    }
    for (const queueId of new Set(Object.values(routing).flat())) {
      expect(resources[queueId]?.Type).toBe('AWS::SQS::Queue');
    }
  });
});

describe('stack outputs (what millwright --stack reads)', () => {
  type Output = { Value: unknown; Description?: string };
  const outputs = (): Record<string, Output> => template.toJSON().Outputs as Record<string, Output>;
  const output = (key: string): Output => {
    const found = outputs()[key];
    if (!found) throw new Error(`no output ${key}; outputs: ${Object.keys(outputs()).join(', ')}`);
    return found;
  };
  /** A value as a string with each Ref / GetAtt left as a `<ref:Id>` / `<att:Id.Attr>` marker. */
  const symbolic = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
    if (v.Ref) return `<ref:${v.Ref}>`;
    if (v['Fn::GetAtt']) return `<att:${v['Fn::GetAtt'].join('.')}>`;
    if (v['Fn::Join']) return v['Fn::Join'][1].map(symbolic).join(v['Fn::Join'][0]);
    throw new Error(`unexpected output value ${JSON.stringify(value)}`);
  };

  it('names the state table, the deployment and the operator version', () => {
    const [tableId] = only(ofType('AWS::DynamoDB::Table'), 'table');
    expect(output('TableName').Value).toEqual({ Ref: tableId });
    expect(output('DeploymentName').Value).toBe(deployment.name);
    expect(output('OperatorVersion').Value).toBe(String(OPERATOR_VERSION));
  });

  it('gives the API URL without a trailing slash and each webhook URL without a double slash', () => {
    const [apiId] = only(ofType('AWS::ApiGatewayV2::Api'), 'HTTP API');
    // ApiEndpoint is `https://<id>.execute-api.<region>.<suffix>`: no trailing slash (the stage URL has one).
    expect(output('ApiUrl').Value).toEqual({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    expect(Object.keys(outputs()).filter((k) => k.startsWith('WebhookUrl'))).toHaveLength(
      WEBHOOK_ROUTES.length,
    );
    for (const connector of connectors) {
      if (!connector.webhook) continue;
      const path = connector.webhook.route.slice(connector.webhook.route.indexOf(' ') + 1);
      expect(path).toMatch(/^\/[^/]/);
      expect(symbolic(output(webhookOutputKey(connector.id)).Value)).toBe(
        `<att:${apiId}.ApiEndpoint>${path}`,
      );
    }
    const upkeep = output('WebhookUrlUpkeep');
    expect(symbolic(upkeep.Value)).toMatch(/\/webhooks\/upkeep\/\{token\}$/);
    expect(upkeep.Description).toContain('webhookToken');
    expect(upkeep.Description).toContain(SECRET_NAMES.upkeep);
    // The command that prints the full URL, token filled in.
    expect(upkeep.Description).toContain('webhooks urls --show-secrets');
    expect(output('WebhookUrlMachinemetrics').Description).not.toContain('replace');
  });

  it('links the CloudWatch dashboard', () => {
    const [dashboardId] = only(ofType('AWS::CloudWatch::Dashboard'), 'dashboard');
    expect(symbolic(output('DashboardUrl').Value)).toBe(
      `https://<ref:AWS::Region>.console.aws.amazon.com/cloudwatch/home?region=<ref:AWS::Region>#dashboards:name=<ref:${dashboardId}>`,
    );
  });

  it("gives each flow's queue, DLQ, worker and schedules as one JSON output", () => {
    const flowKeys = Object.keys(outputs()).filter((k) => k.startsWith('Flow'));
    expect(flowKeys.sort()).toEqual(deployment.enabled.map(({ flow }) => flowOutputKey(flow.id)).sort());
    for (const { flow } of deployment.enabled) {
      const key = flowOutputKey(flow.id);
      expect(key).toMatch(/^[A-Za-z0-9]{1,255}$/);
      const value = flowOutputSchema.parse(JSON.parse(symbolic(output(key).Value)));
      const queueId = queueOf(flow.id);
      const dlqId = refId(
        ((resources[queueId] as Resource).Properties.RedrivePolicy as { deadLetterTargetArn: unknown })
          .deadLetterTargetArn,
      );
      // Ref of a queue is its URL, of a function its name, of a schedule its name.
      expect(value).toMatchObject({
        flow: flow.id,
        queue: `<ref:${queueId}>`,
        dlq: `<ref:${dlqId}>`,
        worker: `<ref:${workerOf(flow.id)[0]}>`,
      });
      // A shared poll's schedule is no flow's own: pausing one flow must not stop the others' poll.
      const triggers = flow.triggers.filter(
        (t): t is ScheduleTrigger => t.kind === 'schedule' && !SHARED_POLL_FLOWS.includes(flow.id),
      );
      expect(value.schedules.map((s) => s.source)).toEqual(triggers.map((t) => t.source.id));
      for (const [i, trigger] of triggers.entries()) {
        const [pollerId] = pollerOf(flow.id, trigger);
        const [scheduleId] = only(
          ofType('AWS::Scheduler::Schedule').filter(
            ([, s]) => refId((s.Properties.Target as Json).Arn) === pollerId,
          ),
          `schedule of ${flow.id}`,
        );
        expect(value.schedules[i]).toEqual({
          source: trigger.source.id,
          name: `<ref:${scheduleId}>`,
          group: 'default',
        });
        expect((resources[scheduleId] as Resource).Properties.GroupName).toBeUndefined();
      }
    }
  });
});

describe('stack layout', () => {
  it("puts each flow's queue, DLQ, worker, alarm and pollers in a nested stack of its own", () => {
    const root = Template.fromStack(app.node.findChild(deployment.name) as Stack).toJSON() as {
      Resources: Record<string, Resource>;
    };
    const nested = Object.values(root.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack');
    // Plus one for the downtime flows' poll group.
    expect(nested).toHaveLength(deployment.enabled.length + 1);
    // The root holds what all flows share; a flow adds one resource to it, not ten.
    expect(Object.keys(root.Resources).length).toBeLessThan(40 + deployment.enabled.length);
    for (const type of ['AWS::SQS::Queue', 'AWS::Lambda::EventSourceMapping', 'AWS::Scheduler::Schedule']) {
      expect(Object.values(root.Resources).filter((r) => r.Type === type)).toEqual([]);
    }
  });
});

describe('flow workers', () => {
  it('feeds each enabled flow its own queue, reporting partial batch failures', () => {
    expect(deployment.enabled.length).toBeGreaterThan(0);
    for (const { flow } of deployment.enabled) {
      const [workerId] = functionWhere(new RegExp(`^Millwright worker: ${flow.id}$`));
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: workerId },
        EventSourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        BatchSize: flow.worker?.batchSize ?? 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ...(flow.worker?.maxConcurrency
          ? { ScalingConfig: { MaximumConcurrency: flow.worker.maxConcurrency } }
          : {}),
      });
    }
  });

  it('gives rate-limited flows one message per invocation, few workers and time to wait', () => {
    const flow = deployment.enabled.find(
      (e) => e.flow.id === 'click-maint-part-low-to-mobility-work-stock',
    )?.flow;
    expect(flow?.worker).toEqual({ timeoutSeconds: 180, batchSize: 1, maxConcurrency: 2 });
    const [workerId, worker] = functionWhere(
      /^Millwright worker: click-maint-part-low-to-mobility-work-stock$/,
    );
    expect(worker.Properties.Timeout).toBe(180);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: workerId },
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect((resources[queueOf(flow?.id ?? '')] as Resource).Properties.VisibilityTimeout).toBe(6 * 180);
  });

  it('keeps events 14 days on a queue whose redrive is only a backstop (the worker dead-letters by its horizon) into a 14-day DLQ that raises an alarm', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', deployment.enabled.length);
    const dlqIds = new Set<string>();
    for (const { flow } of deployment.enabled) {
      const queue = resources[queueOf(flow.id)] as Resource;
      const redrive = queue.Properties.RedrivePolicy as {
        maxReceiveCount: number;
        deadLetterTargetArn: unknown;
      };
      // SQS's maximum: holds and waits are deliveries too, so a small count would lose the horizon.
      expect(redrive.maxReceiveCount).toBe(1000);
      expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      const dlqId = refId(redrive.deadLetterTargetArn);
      dlqIds.add(dlqId);
      expect(resources[dlqId]?.Properties).toMatchObject({ MessageRetentionPeriod: 14 * 24 * 3600 });
      const timeout = Math.max(deployment.runtime.workerTimeoutSeconds, flow.worker?.timeoutSeconds ?? 0);
      expect(queue.Properties.VisibilityTimeout).toBe(6 * timeout);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
    // Each flow dead-letters into its own DLQ.
    expect(dlqIds.size).toBe(deployment.enabled.length);
  });

  it('lets each worker delay messages on its own queue (never send to it) and send to its DLQ, knowing both URLs', () => {
    for (const { flow } of deployment.enabled) {
      const [, worker] = workerOf(flow.id);
      const queueId = queueOf(flow.id);
      const queue = resources[queueId] as Resource;
      const dlqId = refId(
        (queue.Properties.RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn,
      );
      expect(envOf(worker)).toMatchObject({ QUEUE_URL: { Ref: queueId }, DLQ_URL: { Ref: dlqId } });
      const statements = roleStatements(refId(worker.Properties.Role));
      const sendsTo = (id: string) =>
        statements.filter(
          (s) =>
            [s.Action].flat().includes('sqs:SendMessage') &&
            JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }),
        );
      // Its own queue: no SendMessage (nothing is re-sent); ChangeMessageVisibility (delays) and
      // DeleteMessage (a dead-letter taken off at once), with receiving, come with the event source
      // mapping's consume grant.
      expect(sendsTo(queueId)).toEqual([]);
      const onQueue = statements.filter(
        (s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] }),
      );
      expect(onQueue.flatMap((s) => [s.Action].flat())).toContain('sqs:ChangeMessageVisibility');
      expect(onQueue.flatMap((s) => [s.Action].flat())).toContain('sqs:DeleteMessage');
      expect(sendsTo(dlqId)).toHaveLength(1);
      // No other flow's queue.
      const others = deployment.enabled.filter((e) => e.flow.id !== flow.id).map((e) => queueOf(e.flow.id));
      for (const other of others) expect(sendsTo(other)).toEqual([]);
    }
  });

  it('bundles the retry delays, horizon and wait budget into each worker (defaults when the config has none)', () => {
    expect(deployment.runtime.retry).toEqual(DEFAULT_RETRY);
    for (const entry of planEntries(deployment).filter((e) => e.kind === 'worker')) {
      expect(entry.settings.runtime.retry).toEqual(DEFAULT_RETRY);
    }
  });

  it('raises a needs-attention alarm per flow on the metric its worker emits when it parks an event', () => {
    const workers = planEntries(deployment).filter((e) => e.kind === 'worker');
    for (const { flow } of deployment.enabled) {
      // What the worker writes (an EMF line, with its bundled settings) names the metric the alarm watches.
      const settings = workers.find((e) => e.flow.id === flow.id)?.settings;
      expect(settings?.deployment).toBe(deployment.name);
      const emf = JSON.parse(emfLine(NEEDS_ATTENTION_METRIC, flow.id, new Date(), settings?.deployment)) as {
        _aws: {
          CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
        };
        [key: string]: unknown;
      };
      const [directive] = emf._aws.CloudWatchMetrics;
      const dimensions = (directive?.Dimensions[0] ?? []).map((name) => ({ Name: name, Value: emf[name] }));
      expect(dimensions).toEqual([
        { Name: 'flow', Value: flow.id },
        { Name: 'deployment', Value: deployment.name },
      ]);
      expect(emf[directive?.Metrics[0]?.Name ?? '']).toBe(1);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: directive?.Namespace,
        MetricName: directive?.Metrics[0]?.Name,
        // CDK lists an alarm's dimensions by name.
        Dimensions: [...dimensions].sort((a, b) => a.Name.localeCompare(b.Name)),
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmDescription: Match.stringLikeRegexp('needs-attention'),
      });
    }
  });

  it("limits every queue's messages to 262,144 bytes, the size the ingress and pollers build for", () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThan(0);
    for (const [, queue] of queues) expect(queue.Properties.MaximumMessageSize).toBe(262_144);
  });

  it('encrypts every queue and refuses non-TLS access', () => {
    for (const [id, queue] of ofType('AWS::SQS::Queue')) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('pollers', () => {
  it('invokes each poller on rate(N minutes) from its flow config', () => {
    const pollers = scheduleTriggers();
    expect(pollers.map(({ flow }) => flow.id).sort()).toEqual([...POLLED_FLOWS].sort());
    template.resourceCountIs('AWS::Scheduler::Schedule', pollers.length + 1);
    const [sharedId] = sharedPoller();
    const [, shared] = only(
      ofType('AWS::Scheduler::Schedule').filter(
        ([, s]) => refId((s.Properties.Target as Json).Arn) === sharedId,
      ),
      'schedule of the shared downtime poller',
    );
    expect(shared.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    for (const { flow, config, trigger } of pollers) {
      const { everyMinutes } = (config as { poll: { everyMinutes: number } }).poll;
      expect(everyMinutes).toBe(5);
      expect(trigger.everyMinutes(config)).toBe(everyMinutes);
      const [pollerId] = pollerOf(flow.id, trigger);
      const [, schedule] = only(
        ofType('AWS::Scheduler::Schedule').filter(
          ([, s]) => refId((s.Properties.Target as Json).Arn) === pollerId,
        ),
        `schedule of the ${flow.id} poller`,
      );
      expect(schedule.Properties).toMatchObject({
        ScheduleExpression: `rate(${everyMinutes} minutes)`,
        State: 'ENABLED',
      });
    }
  });

  it("lets each scheduler role invoke its own poller and send to its flow's scheduler DLQ, nothing else", () => {
    const schedulerRoles = ofType('AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    );
    const schedules = ofType('AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(POLLED_FLOWS.length + 1);
    // The L2 target creates one role per target function.
    expect(schedulerRoles).toHaveLength(schedules.length);
    const roleIds = new Set<string>();
    for (const [, schedule] of schedules) {
      const target = schedule.Properties.Target as Json;
      const roleId = refId(target.RoleArn);
      roleIds.add(roleId);
      expect(schedulerRoles.map(([id]) => id)).toContain(roleId);
      const pollerArn = { 'Fn::GetAtt': [refId(target.Arn), 'Arn'] };
      expect(resources[refId(target.Arn)]?.Properties.Description).toMatch(/^Millwright poller: /);
      const statements = roleStatements(roleId);
      const dlqArn = (target.DeadLetterConfig as { Arn: unknown }).Arn;
      expect(statements.map((s) => s.Action)).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
      expect(statements[1]?.Resource).toEqual(dlqArn);
      // The poller and its own versions/aliases only.
      expect([statements[0]?.Resource].flat()).toEqual([pollerArn, { 'Fn::Join': ['', [pollerArn, ':*']] }]);
    }
    expect(roleIds.size).toBe(schedules.length);
  });
});

describe('shared downtime poll', () => {
  it('one poller and one schedule for the three downtime flows: it may send to their three queues and to no other queue', () => {
    const [, fn] = sharedPoller();
    const statements = roleStatements(refId(fn.Properties.Role));
    const sqsResources = statements
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:')))
      .map((s) => refId(s.Resource))
      .sort();
    const downtimeQueues = SHARED_POLL_FLOWS.map((id) => queueOf(id)).sort();
    expect(sqsResources).toEqual(downtimeQueues);
    for (const s of statements.filter((x) => [x.Action].flat().some((a) => a.startsWith('sqs:')))) {
      expect([s.Action].flat().filter((a) => a !== 'sqs:SendMessage' && !/^sqs:GetQueue/.test(a))).toEqual(
        [],
      );
    }
    // Its queue URLs in member order, as the Lambda reads them.
    expect(envOf(fn)).toMatchObject(
      Object.fromEntries(
        (planPollGroups(deployment.enabled).groups[0]?.members ?? []).map((m, i) => [
          `QUEUE_URL_${i}`,
          { Ref: queueOf(m.flow.id) },
        ]),
      ),
    );
    // No downtime flow keeps a poller of its own.
    for (const id of SHARED_POLL_FLOWS) {
      expect(
        ofType('AWS::Lambda::Function').filter(([, r]) =>
          String(r.Properties.Description).startsWith(`Millwright poller: ${id} `),
        ),
      ).toEqual([]);
    }
  });
});

describe('state table', () => {
  it('keys pk/sk, bills per request, keeps point-in-time recovery and expires items by ttl', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      },
    });
  });
});

describe('functions', () => {
  it('run Node.js 22 or newer on arm64 and log to their own log group with the configured retention', () => {
    const functions = ofType('AWS::Lambda::Function');
    // One worker per flow and one poller per schedule trigger, plus the webhook ingress.
    // One worker per flow, one poller per own schedule trigger and one per poll group, plus the webhook ingress.
    expect(functions).toHaveLength(deployment.enabled.length + scheduleTriggers().length + 1 + 1);
    expect(functions).toHaveLength(flows.length + POLLED_FLOWS.length + 1 + 1);
    for (const [, { Properties: fn }] of functions) {
      expect(Number(/^nodejs(\d+)\.x$/.exec(String(fn.Runtime))?.[1])).toBeGreaterThanOrEqual(22);
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.MemorySize).toBe(256);
      expect(fn.TracingConfig).toBeUndefined();
      const logGroup = resources[refId((fn.LoggingConfig as Json).LogGroup)];
      expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup?.Properties.RetentionInDays).toBe(deployment.runtime.logRetentionDays);
      // No `runtime.systemLogLevel` in the default config: Lambda's plain-text default (function-logging.test.ts).
      expect((fn.LoggingConfig as Json).LogFormat).toBeUndefined();
    }
  });

  it('grants no dynamodb, sqs or secretsmanager action on Resource "*"', () => {
    const guarded = /^(dynamodb|sqs|secretsmanager):|^\*$/;
    const statements = ofType('AWS::IAM::Policy').flatMap(([, p]) => statementsOf(p));
    for (const [, role] of ofType('AWS::IAM::Role')) {
      for (const inline of (role.Properties.Policies as Resource[] | undefined) ?? []) {
        statements.push(...statementsOf(inline));
      }
      // No AWS-managed policies (AWSLambdaBasicExecutionRole allows logs on `*`).
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    expect(statements.length).toBeGreaterThan(0);
    const offending = statements.filter(
      (s) => [s.Action].flat().some((a) => guarded.test(a)) && [s.Resource].flat().includes('*'),
    );
    expect(offending).toEqual([]);
  });

  it('grants each function kind only its DynamoDB actions on the state table (no Scan, no streams)', () => {
    const [tableId] = only(ofType('AWS::DynamoDB::Table'), 'state table');
    const dynamoActionsOf = ([, fn]: [string, Resource]): string[] =>
      roleStatements(refId(fn.Properties.Role))
        .flatMap((s) => [s.Action].flat())
        .filter((a) => a.startsWith('dynamodb:'))
        .sort();
    const onTable = ([, fn]: [string, Resource]): boolean =>
      roleStatements(refId(fn.Properties.Role))
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')))
        .every((s) => JSON.stringify(s.Resource).includes(tableId));
    const ingress = functionWhere(/^Millwright webhook ingress/);
    // Query: one item of a redelivered event's run log (did a worker see it? runtime/ingress.ts).
    // UpdateItem: the delivery mark's one early-redelivery flag.
    expect(dynamoActionsOf(ingress)).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(stateActionsOf('ingress')).toEqual(dynamoActionsOf(ingress));
    expect(onTable(ingress)).toBe(true);
    const flowItemActions = [
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ];
    for (const { flow } of deployment.enabled) {
      expect(dynamoActionsOf(workerOf(flow.id))).toEqual(flowItemActions);
      expect(onTable(workerOf(flow.id))).toBe(true);
    }
    for (const { flow, trigger } of scheduleTriggers()) {
      expect(dynamoActionsOf(pollerOf(flow.id, trigger))).toEqual(flowItemActions);
    }
    expect(dynamoActionsOf(sharedPoller())).toEqual(flowItemActions);
    expect(onTable(sharedPoller())).toBe(true);
    const all = ofType('AWS::IAM::Policy')
      .flatMap(([, p]) => statementsOf(p))
      .flatMap((s) => [s.Action].flat());
    expect(
      all.filter((a) => /^dynamodb:(Scan|DescribeTable|ConditionCheckItem|.*Stream|\*)/.test(a)),
    ).toEqual([]);
  });

  it('reads each vendor secret by name, and only in the functions that use that vendor', () => {
    const secretsReadBy = ([, fn]: [string, Resource]): string[] =>
      roleStatements(refId(fn.Properties.Role))
        .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .map(
          (s) => /:secret:([^"]+)-\?{6}"/.exec(JSON.stringify(s.Resource))?.[1] ?? JSON.stringify(s.Resource),
        )
        .sort();
    const secretsOf = (vendors: readonly VendorId[]): string[] =>
      [...new Set(vendors)].map((v) => SECRET_NAMES[v] ?? `no secret name for ${v}`).sort();
    // The secret names are the configured ones.
    for (const [vendor, name] of Object.entries(SECRET_NAMES)) {
      expect((deployment.vendors as Record<string, { secretName?: string }>)[vendor]?.secretName).toBe(name);
    }

    let checked = 0;
    for (const { flow } of deployment.enabled) {
      // A worker reads the secrets of its flow's vendors.
      expect(secretsReadBy(workerOf(flow.id))).toEqual(secretsOf(flow.vendors));
      checked++;
    }
    for (const { flow, trigger } of scheduleTriggers()) {
      // A poller reads its source's vendor only (the downtime pollers: MachineMetrics only).
      expect(secretsReadBy(pollerOf(flow.id, trigger))).toEqual(
        secretsOf([trigger.source.vendor as VendorId]),
      );
      checked++;
    }
    // The downtime flows' one poller reads MachineMetrics only.
    expect(secretsReadBy(sharedPoller())).toEqual(['millwright/machinemetrics']);
    checked++;
    expect(secretsReadBy(functionWhere(/^Millwright webhook ingress/))).toEqual([
      'millwright/machinemetrics',
      'millwright/mobility-work',
      'millwright/upkeep',
    ]);
    checked++;
    // Every function was checked.
    expect(checked).toBe(ofType('AWS::Lambda::Function').length);
    // Spot checks against the flow definitions.
    expect(secretsReadBy(workerOf(DOWNTIME_FLOW))).toEqual([
      'millwright/machinemetrics',
      'millwright/upkeep',
    ]);
    expect(secretsReadBy(workerOf('mobility-work-task-to-upkeep-work-order-status'))).toEqual([
      'millwright/mobility-work',
      'millwright/upkeep',
    ]);
  });

  it('carries names and ARNs in env vars and bundled settings, never secret fields or values', () => {
    const allowed = ['NODE_OPTIONS', 'TABLE_NAME', 'QUEUE_URL', 'QUEUE_URL_PREFIX', 'DLQ_URL'];
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      // A shared poller's member queues: QUEUE_URL_0, QUEUE_URL_1, ...
      expect(
        Object.keys(envOf(fn)).filter((k) => !allowed.includes(k) && !/^QUEUE_URL_\d+$/.test(k)),
      ).toEqual([]);
    }
    const secretFields = connectors.flatMap((c) =>
      Object.keys((c.secret as unknown as { shape: Record<string, unknown> }).shape),
    );
    const sampleSecrets = sandboxSecrets();
    const secretValues = Object.values(sampleSecrets as Record<string, Json>).flatMap((s) =>
      Object.values(s).flat(),
    );
    const rendered = JSON.stringify(template.toJSON());
    for (const entry of planEntries(deployment)) {
      const settings = JSON.stringify(entry.settings);
      for (const field of secretFields) expect(settings).not.toContain(`"${field}":`);
      for (const value of secretValues) expect(entry.source).not.toContain(String(value));
    }
    for (const value of secretValues) expect(rendered).not.toContain(String(value));
  });
});

describe('generated entries', () => {
  const importsOf = (file: string): string[] =>
    [...readFileSync(file, 'utf8').matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) =>
      resolve(dirname(file), m[1] as string),
    );

  it("bundles a worker from its own flow's module only, never the registry", () => {
    for (const { flow } of deployment.enabled) {
      const entry = only(
        planEntries(deployment).filter((e) => e.kind === 'worker' && e.flow.id === flow.id),
        `worker entry of ${flow.id}`,
      );
      expect(importsOf(entry.entryPath).sort()).toEqual(
        [
          join(PROJECT_ROOT, flowModulePath(flow.id)),
          join(PROJECT_ROOT, 'functions/runtime/lambda/worker.ts'),
        ].sort(),
      );
      expect(readFileSync(entry.entryPath, 'utf8')).toContain(
        'export const handler = workerLambda(flow, settings)',
      );
    }
  });

  it("imports each webhook vendor's receiver into the ingress", () => {
    const entry = only(
      planEntries(deployment).filter((e) => e.kind === 'ingress'),
      'ingress entry',
    );
    expect(importsOf(entry.entryPath)).toEqual([
      join(PROJECT_ROOT, 'functions/connectors/machinemetrics/webhook.ts'),
      join(PROJECT_ROOT, 'functions/connectors/mobility-work/webhook.ts'),
      join(PROJECT_ROOT, 'functions/connectors/upkeep/webhook.ts'),
      join(PROJECT_ROOT, 'functions/runtime/lambda/ingress.ts'),
    ]);
  });
});

describe('cdk-nag AwsSolutions and Serverless checks', () => {
  it.each([
    ['AwsSolutions', () => new AwsSolutionsChecks(app, { verbose: true })],
    ['Serverless', () => new ServerlessChecks(app, { verbose: true })],
  ])(
    '%s: finds nothing unacknowledged, errors or warnings (each acknowledgement has its reason in lib/)',
    (_, pack) => {
      const report = pack().validateScope(app);
      const findings = report.violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );
      expect(findings).toEqual([]);
    },
  );
});

describe('bad config', () => {
  let dir: string;
  const base = JSON.parse(readFileSync(CONFIG, 'utf8')) as Json;
  const write = (
    name: string,
    change: (config: { flows: Record<string, Json>; vendors: Json; runtime: Json }) => void,
  ) => {
    const config = structuredClone(base) as { flows: Record<string, Json>; vendors: Json; runtime: Json };
    change(config);
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(config));
    return path;
  };
  const failure = (path: string): ConfigError => {
    try {
      buildApp(path, NO_BUNDLING);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected buildApp to fail');
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'millwright-infra-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("fails naming the flow field's path when a threshold is out of range", () => {
    const error = failure(
      write('minimum', (c) => {
        c.flows[DOWNTIME_FLOW] = { ...c.flows[DOWNTIME_FLOW], minimumMinutes: 0 };
      }),
    );
    expect(error.path).toBe(`flows.${DOWNTIME_FLOW}.minimumMinutes`);
    expect(error.message).toContain(`flows.${DOWNTIME_FLOW}.minimumMinutes`);
  });

  it('fails naming an unknown flow id', () => {
    const error = failure(
      write('unknown-flow', (c) => {
        c.flows['no-such-flow'] = { enabled: true };
      }),
    );
    expect(error.path).toBe('flows.no-such-flow');
    expect(error.message).toContain('unknown flow');
  });

  it('fails naming a vendor an enabled flow needs but the config lacks', () => {
    const error = failure(
      write('missing-vendor', (c) => {
        delete c.vendors.upkeep;
      }),
    );
    expect(error.path).toBe('vendors.upkeep');
  });

  it('fails naming runtime.logRetentionDays when CloudWatch would reject the period', () => {
    const error = failure(
      write('retention', (c) => {
        c.runtime = { ...c.runtime, logRetentionDays: 8 };
      }),
    );
    expect(error.path).toBe('runtime.logRetentionDays');
  });

  it('fails naming the file when it is not JSON', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "flows": ');
    expect(() => loadDeployment(path, flows)).toThrow(/cannot read .*broken\.json/);
  });
});

describe('adding a flow', () => {
  it('needs no change in lib/: a registered flow gets its own queue, worker, poller and webhook routing', () => {
    const source: PollSource<unknown, unknown, unknown> = {
      id: 'test.source',
      vendor: 'upkeep',
      events: {},
      stateSchema: z.unknown(),
      connect: () => undefined,
      async *poll() {},
    };
    const upkeepWebhooks = flows
      .flatMap((f) => f.triggers)
      .filter((t) => t.kind === 'webhook' && t.receiver.vendor === 'upkeep');
    // Handlers for the UpKeep webhook events the registered flows handle: the new flow subscribes to them.
    const upkeepTypes = [...new Set(flows.flatMap(webhookEventsOf))].filter((t) => t.startsWith('upkeep.'));
    const extra: AnyFlow = defineFlow({
      id: 'upkeep-test-flow',
      description: 'test',
      vendors: ['upkeep'],
      config: z.object({ every: z._default(z.number(), 15) }),
      triggers: [
        { kind: 'schedule', source, everyMinutes: (c) => c.every, options: () => ({}) },
        ...(upkeepWebhooks as Trigger<{ every: number }>[]),
      ],
      setup: () => undefined,
      on: Object.fromEntries(
        upkeepTypes.map((t) => [t, async () => ({ outcome: 'skipped' as const, message: 'test' })]),
      ),
    });
    // Entries must sit under the project root (esbuild's root); keep these out of .build/entries.
    const dir = mkdtempSync(join(PROJECT_ROOT, '.build', 'test-entries-'));
    try {
      const raw = structuredClone(JSON.parse(readFileSync(CONFIG, 'utf8'))) as { flows: Json };
      raw.flows['upkeep-test-flow'] = { enabled: true };
      const configPath = join(dir, 'config.json');
      writeFileSync(configPath, JSON.stringify(raw));
      const built = buildApp(configPath, NO_BUNDLING, { registry: [...flows, extra], entriesDir: dir });
      const { stack } = built;

      const registry = [...flows, extra];
      expect([...stack.workers.keys()].sort()).toEqual(registry.map((f) => f.id).sort());
      expect(stack.pollers.map((p) => p.flowId).sort()).toEqual(
        [...POLLED_FLOWS, SHARED_POLLER, 'upkeep-test-flow'].sort(),
      );
      expect(stack.pollers.find((p) => p.flowId === 'upkeep-test-flow')?.poller.timeout?.toSeconds()).toBe(
        900,
      );
      expect(stack.ingress?.routeKeys.sort()).toEqual(WEBHOOK_ROUTES);
      // The new flow subscribes to UpKeep work-order events, as the downtime flow does: the ingress
      // sends those to both queues, and every other event type to its subscribers as before.
      const queueIdOf = (flowId: string): string => {
        const worker = stack.workers.get(flowId);
        if (!worker) throw new Error(`no worker for ${flowId}`);
        return stack.getLogicalId(worker.queue.node.defaultChild as CfnElement);
      };
      const queueNames = new Map(
        [...stack.workers].map(([flowId, worker]) => [
          stack.resolve((worker.queue.node.defaultChild as CfnQueue).queueName) as string,
          queueIdOf(flowId),
        ]),
      );
      const ingress = only(
        planEntries(built.deployment, dir).filter((e) => e.kind === 'ingress'),
        'ingress entry',
      );
      const routing = routingOf(ingress.settings.routing, (name) => queueNames.get(name) ?? `?${name}`);
      expect(routing).toEqual(expectedRouting(registry, queueIdOf));
      expect(upkeepWebhooks.length).toBeGreaterThan(0);
      expect(upkeepTypes.length).toBeGreaterThan(0);
      for (const trigger of upkeepWebhooks) {
        if (trigger.kind !== 'webhook') continue;
        for (const type of upkeepTypes) {
          const subscribed = registry.filter((f) => webhookEventsOf(f).includes(type)).map((f) => f.id);
          expect(subscribed).toContain('upkeep-test-flow');
          expect(routing[type]).toEqual(subscribed.map(queueIdOf).sort());
        }
      }
      expect(readFileSync(join(dir, 'upkeep-test-flow', 'worker.ts'), 'utf8')).toContain(
        '/functions/flows/upkeep-test-flow.ts',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
