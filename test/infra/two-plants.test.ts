/**
 * Two plants deployed into one account and region (two configs, two `name`s, two stacks), as an
 * operator's first `cdk deploy` of the second plant meets them: no physical name may collide, and
 * each plant's alarms must watch that plant's metrics only. Also what a failed first deploy leaves
 * behind: nothing with a fixed name that would make the retry fail.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { METRIC_NAMESPACE } from '../../functions/runtime/metrics.ts';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const PLANTS = ['PlantA', 'plant-b'] as const;

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

let dir: string;
const resourcesOf = new Map<string, Resource[]>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-plants-'));
  const base = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/default.json'), 'utf8')) as Json;
  for (const name of PLANTS) {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({ ...base, name }));
    const built = buildApp(path, NO_BUNDLING);
    resourcesOf.set(name, Object.values(flatTemplate(built.stack).Resources) as Resource[]);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const resources = (plant: string): Resource[] => resourcesOf.get(plant) ?? [];
const ofType = (plant: string, type: string) => resources(plant).filter((r) => r.Type === type);

/**
 * Every literal name a template sets that must be unique in an account and region (CloudFormation
 * generates the others from the stack name; an HTTP API's `Name` need not be unique).
 */
const PHYSICAL_NAME_KEYS: Record<string, string> = {
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::SSM::Parameter': 'Name',
  'AWS::SecretsManager::Secret': 'Name',
};
const physicalNames = (plant: string): string[] =>
  resources(plant).flatMap((r) => {
    const key = PHYSICAL_NAME_KEYS[r.Type];
    const name = key === undefined ? undefined : r.Properties[key];
    return typeof name === 'string' ? [name] : [];
  });

describe('two plants in one account and region', () => {
  it('share no physical name: each fixed name starts with its plant name', () => {
    const [a, b] = PLANTS.map(physicalNames);
    expect(a?.length).toBeGreaterThan(0);
    for (const [plant, names] of [
      [PLANTS[0], a],
      [PLANTS[1], b],
    ] as const) {
      for (const name of names ?? []) expect(name.startsWith(`${plant}-`)).toBe(true);
    }
    expect((a ?? []).filter((n) => (b ?? []).includes(n))).toEqual([]);
  });

  it("alarm only on their own plant's Millwright metrics (a deployment dimension), never on the other's", () => {
    for (const plant of PLANTS) {
      const custom = ofType(plant, 'AWS::CloudWatch::Alarm').filter(
        (r) => r.Properties.Namespace === METRIC_NAMESPACE,
      );
      // Needs-attention per flow, missed runs per poller, circuit open per vendor.
      expect(custom.length).toBeGreaterThan(0);
      for (const alarm of custom) {
        const dimensions = alarm.Properties.Dimensions as { Name: string; Value: unknown }[];
        expect(dimensions).toContainEqual({ Name: 'deployment', Value: plant });
      }
    }
  });
});

describe('a first deploy that fails and rolls back', () => {
  it('deletes the queues it created (fixed names), so the retry can create them again; stack deletion keeps them', () => {
    for (const plant of PLANTS) {
      const named = ofType(plant, 'AWS::SQS::Queue').filter(
        (r) => typeof r.Properties.QueueName === 'string',
      );
      expect(named.length).toBeGreaterThan(0);
      for (const queue of named) {
        expect(queue.DeletionPolicy).toBe('RetainExceptOnCreate');
        expect(queue.UpdateReplacePolicy).toBe('Retain');
      }
    }
  });

  it('leaves nothing it created behind (no orphan table, key, log group or queue per failed try); stack deletion keeps them', () => {
    for (const plant of PLANTS) {
      const kept = resources(plant).filter((r) => r.DeletionPolicy !== undefined);
      // The state table, the alarm topic's KMS key (about $1 a month each if orphaned), the log
      // groups and every queue: kept when the stack is deleted, deleted when their own create rolls back.
      for (const type of [
        'AWS::DynamoDB::Table',
        'AWS::KMS::Key',
        'AWS::Logs::LogGroup',
        'AWS::SQS::Queue',
      ]) {
        expect(kept.filter((r) => r.Type === type).length).toBeGreaterThan(0);
      }
      expect(kept.filter((r) => r.DeletionPolicy !== 'RetainExceptOnCreate').map((r) => r.Type)).toEqual([]);
      for (const r of kept) expect(r.UpdateReplacePolicy).toBe('Retain');
    }
  });
});
