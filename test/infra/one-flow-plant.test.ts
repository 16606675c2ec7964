/**
 * A first plant with one flow and every optional field left out (no `alarms`, no `runtime`, only the
 * vendors the flow calls, a lower-case stack name with a dash): nothing is deployed for the absent
 * flows and vendors (no queue, function, route, alarm or secret grant), and every alarm still
 * reaches the topic on ALARM and OK.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}
interface Plant {
  resources: Resource[];
  outputs: string[];
  warnings: string[];
}

/** A webhook-only flow (Mobility Work task -> UpKeep) and a poll-only one (Deepomatic -> UpKeep). */
const CONFIGS: Record<string, Json> = {
  'webhook-plant': {
    name: 'webhook-plant',
    vendors: {
      'mobility-work': { baseUrl: 'https://api.mobility-work.com', secretName: 'wp/mobility-work' },
      upkeep: { baseUrl: 'https://api.onupkeep.com/api/v2', secretName: 'wp/upkeep' },
    },
    flows: { 'mobility-work-task-to-upkeep-work-order-status': { enabled: true } },
  },
  'poll-plant': {
    name: 'poll-plant',
    vendors: {
      deepomatic: { region: 'eu', siteId: 'poll-plant', secretName: 'pp/deepomatic' },
      upkeep: { baseUrl: 'https://api.onupkeep.com/api/v2', secretName: 'pp/upkeep' },
    },
    flows: { 'deepomatic-validation-to-upkeep-work-order': { enabled: true } },
  },
};

let dir: string;
const plants = new Map<string, Plant>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-one-flow-'));
  for (const [name, config] of Object.entries(CONFIGS)) {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(config));
    const built = buildApp(path, NO_BUNDLING);
    const flat = flatTemplate(built.stack);
    plants.set(name, {
      resources: Object.values(flat.Resources) as Resource[],
      outputs: Object.keys(flat.Outputs ?? {}),
      warnings: Annotations.fromStack(built.stack)
        .findWarning('*', Match.anyValue())
        .map((w) => String(w.entry.data)),
    });
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plant = (name: string): Plant => {
  const found = plants.get(name);
  if (!found) throw new Error(`no plant ${name}`);
  return found;
};
const ofType = (name: string, type: string) => plant(name).resources.filter((r) => r.Type === type);
const descriptions = (name: string) =>
  ofType(name, 'AWS::Lambda::Function').map((f) => String(f.Properties.Description));

/** The secret names a policy statement grants GetSecretValue on (`<name>-??????`). */
const secretGrants = (name: string): string[] =>
  ofType(name, 'AWS::IAM::Policy').flatMap((p) =>
    (
      p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }
    ).Statement.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).map(
      (s) => /secret:(.*)-\?{6}/.exec(JSON.stringify(s.Resource))?.[1] ?? JSON.stringify(s.Resource),
    ),
  );

describe('a plant with one webhook flow and no optional field', () => {
  it('deploys one worker and the ingress, a route for the vendor that sends webhooks only, and no poller', () => {
    expect(descriptions('webhook-plant').sort()).toEqual([
      expect.stringMatching(/^Millwright webhook ingress/),
      'Millwright worker: mobility-work-task-to-upkeep-work-order-status',
    ]);
    const routes = ofType('webhook-plant', 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey);
    expect(routes).toEqual([expect.stringContaining('mobility-work')]);
    expect(ofType('webhook-plant', 'AWS::Scheduler::Schedule')).toHaveLength(0);
    expect(ofType('webhook-plant', 'AWS::SQS::Queue')).toHaveLength(2);
    expect(plant('webhook-plant').outputs.filter((o) => o.startsWith('WebhookUrl'))).toHaveLength(1);
  });

  it('grants only the two configured secrets: the ingress the one it verifies with, the worker both', () => {
    expect(secretGrants('webhook-plant').sort()).toEqual([
      'wp/mobility-work',
      'wp/mobility-work',
      'wp/upkeep',
    ]);
  });
});

describe('a plant with one polled flow and no optional field', () => {
  it('deploys one worker and one poller, no webhook API, route or URL output', () => {
    expect(descriptions('poll-plant').sort()).toEqual([
      expect.stringMatching(/^Millwright poller: deepomatic-validation-to-upkeep-work-order /),
      'Millwright worker: deepomatic-validation-to-upkeep-work-order',
    ]);
    expect(ofType('poll-plant', 'AWS::ApiGatewayV2::Api')).toHaveLength(0);
    expect(ofType('poll-plant', 'AWS::Lambda::Url')).toHaveLength(0);
    expect(plant('poll-plant').outputs.filter((o) => /^(ApiUrl|WebhookUrl)/.test(o))).toEqual([]);
    // Its queue and DLQ, and the scheduler's DLQ.
    expect(ofType('poll-plant', 'AWS::SQS::Queue')).toHaveLength(3);
  });

  it('grants the poller the polled vendor only and the worker both configured secrets', () => {
    expect(secretGrants('poll-plant').sort()).toEqual(['pp/deepomatic', 'pp/deepomatic', 'pp/upkeep']);
  });
});

describe.each(Object.keys(CONFIGS))('%s', (name) => {
  it('alarms on the circuit breakers of its two vendors only', () => {
    const vendors = ofType(name, 'AWS::CloudWatch::Alarm')
      .filter((a) => a.Properties.MetricName === 'CircuitOpenSeconds')
      .map(
        (a) =>
          (a.Properties.Dimensions as { Name: string; Value: string }[]).find((d) => d.Name === 'vendor')
            ?.Value,
      )
      .sort();
    expect(vendors).toEqual(Object.keys(CONFIGS[name]?.vendors as Json).sort());
  });

  it('notifies the created topic from every alarm on ALARM and OK, and warns that no one is subscribed', () => {
    const topics = ofType(name, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(1);
    const alarms = ofType(name, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    }
    expect(plant(name).warnings.join('\n')).toContain('alarms.emails');
  });
});
