/**
 * The state table's billing (issue 14): on demand by default, with no scaling and no throttle
 * alarm; `runtime.stateTable.billing: "provisioned"` gives provisioned throughput starting at the
 * minimum, auto scaling of reads and writes between min and max at the target utilization, a throttle
 * alarm that notifies the alarm topic, and the table's capacity on the dashboard. PITR, TTL,
 * retention and the key schema stay as they are in both modes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
}

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const base = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/default.json'), 'utf8')) as Json;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-state-table-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The flattened template of the default config with `runtime.stateTable` set (or left out). */
function synth(name: string, stateTable?: unknown) {
  const path = join(dir, `${name}.json`);
  const runtime = { ...((base.runtime as Json | undefined) ?? {}) };
  if (stateTable === undefined) delete runtime.stateTable;
  else runtime.stateTable = stateTable;
  writeFileSync(path, JSON.stringify({ ...base, runtime }));
  const { app, stack } = buildApp(path, NO_BUNDLING);
  const flat = flatTemplate(stack);
  const resources = flat.Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  return { app, template: Template.fromJSON(flat), resources, ofType };
}

/** What both modes keep: keys, PITR, TTL, retention. */
function expectTableBasics(template: Template): void {
  template.resourceCountIs('AWS::DynamoDB::Table', 1);
  template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'RetainExceptOnCreate',
    Properties: Match.objectLike({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    }),
  });
}

const throttleAlarms = (resources: Record<string, Resource>) =>
  Object.values(resources).filter(
    (r) =>
      r.Type === 'AWS::CloudWatch::Alarm' &&
      JSON.stringify(r.Properties.Metrics ?? []).includes('WriteThrottleEvents'),
  );

describe('state table billing', () => {
  it('is on demand by default: PAY_PER_REQUEST, no provisioned throughput, no scaling, no throttle alarm', () => {
    const s = synth('default');
    expectTableBasics(s.template);
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      ProvisionedThroughput: Match.absent(),
    });
    expect(s.ofType('AWS::ApplicationAutoScaling::ScalableTarget')).toEqual([]);
    expect(s.ofType('AWS::ApplicationAutoScaling::ScalingPolicy')).toEqual([]);
    expect(throttleAlarms(s.resources)).toEqual([]);
  });

  describe('provisioned', () => {
    let s: ReturnType<typeof synth>;
    beforeAll(() => {
      s = synth('provisioned', {
        billing: 'provisioned',
        writeCapacity: { min: 10, max: 400 },
        readCapacity: { min: 3, max: 50 },
        targetUtilizationPercent: 60,
      });
    });

    it('provisions the minimum as its initial throughput and keeps keys, PITR, TTL and retention', () => {
      expectTableBasics(s.template);
      const [[, table] = []] = s.ofType('AWS::DynamoDB::Table');
      expect(table?.Properties.BillingMode).toBeUndefined();
      expect(table?.Properties.ProvisionedThroughput).toEqual({
        ReadCapacityUnits: 3,
        WriteCapacityUnits: 10,
      });
    });

    it('scales writes and reads between their min and max, each tracking the target utilization', () => {
      const targets = s.ofType('AWS::ApplicationAutoScaling::ScalableTarget');
      const byDimension = Object.fromEntries(
        targets.map(([id, r]) => [String(r.Properties.ScalableDimension), { id, ...r.Properties }]),
      );
      expect(Object.keys(byDimension).sort()).toEqual([
        'dynamodb:table:ReadCapacityUnits',
        'dynamodb:table:WriteCapacityUnits',
      ]);
      expect(byDimension['dynamodb:table:WriteCapacityUnits']).toMatchObject({
        MinCapacity: 10,
        MaxCapacity: 400,
        ServiceNamespace: 'dynamodb',
      });
      expect(byDimension['dynamodb:table:ReadCapacityUnits']).toMatchObject({
        MinCapacity: 3,
        MaxCapacity: 50,
        ServiceNamespace: 'dynamodb',
      });
      const policies = s.ofType('AWS::ApplicationAutoScaling::ScalingPolicy').map(([, r]) => r.Properties);
      expect(policies).toHaveLength(2);
      const metricOf = { ReadCapacityUnits: 'Read', WriteCapacityUnits: 'Write' } as const;
      for (const [dimension, target] of Object.entries(byDimension)) {
        const unit = dimension.split(':').pop() as keyof typeof metricOf;
        expect(policies).toContainEqual(
          expect.objectContaining({
            PolicyType: 'TargetTrackingScaling',
            ScalingTargetId: { Ref: target.id },
            TargetTrackingScalingPolicyConfiguration: expect.objectContaining({
              TargetValue: 60,
              PredefinedMetricSpecification: {
                PredefinedMetricType: `DynamoDB${metricOf[unit]}CapacityUtilization`,
              },
            }),
          }),
        );
      }
    });

    it('alarms on >= 1 throttled read or write in 5 minutes, notifying the alarm topic on ALARM and OK', () => {
      const [alarm] = throttleAlarms(s.resources);
      expect(throttleAlarms(s.resources)).toHaveLength(1);
      const p = alarm?.Properties ?? {};
      expect(p).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      const metrics = p.Metrics as Json[];
      expect(metrics).toContainEqual(
        expect.objectContaining({ Expression: 'SUM([reads, writes])', ReturnData: true }),
      );
      for (const [id, name] of [
        ['reads', 'ReadThrottleEvents'],
        ['writes', 'WriteThrottleEvents'],
      ]) {
        expect(metrics).toContainEqual(
          expect.objectContaining({
            Id: id,
            MetricStat: expect.objectContaining({
              Metric: expect.objectContaining({ Namespace: 'AWS/DynamoDB', MetricName: name }),
              Period: 300,
              Stat: 'Sum',
            }),
          }),
        );
      }
      expect(String(p.AlarmDescription)).toContain('runtime.stateTable.writeCapacity.max');
      expect(String(p.AlarmDescription)).toContain('Nothing is lost');
      const [[topicId] = []] = s.ofType('AWS::SNS::Topic');
      expect(p.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(p.OKActions).toEqual([{ Ref: topicId }]);
    });

    it.each([
      ['AwsSolutions', AwsSolutionsChecks],
      ['Serverless', ServerlessChecks],
    ])('passes cdk-nag %s with nothing unacknowledged', (_, Pack) => {
      const findings = new Pack(s.app, { verbose: true })
        .validateScope(s.app)
        .violations.map((v) => `${v.severity} ${v.ruleName}`);
      expect(findings).toEqual([]);
    });

    it("graphs the table's capacity and throttles on the dashboard", () => {
      const [[, dashboard] = []] = s.ofType('AWS::CloudWatch::Dashboard');
      const body = JSON.stringify(dashboard?.Properties.DashboardBody);
      for (const text of [
        'State table: write and read capacity',
        'ProvisionedWriteCapacityUnits',
        'ConsumedReadCapacityUnits',
        'State table: throttled requests',
      ]) {
        expect(body).toContain(text);
      }
    });
  });
});
