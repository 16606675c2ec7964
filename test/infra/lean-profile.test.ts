/**
 * The lean profile of README "Cost" (function URL, provisioned state table, no START/END/REPORT
 * lines) is three opt-in settings that each have their own tests; this checks they synthesize
 * together into the stack the cost figure prices, and that the cdk-nag packs find nothing in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { App } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';
import { configWithRuntime, NAG_PACKS, nagFindings } from '../support/infra.ts';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties: Json };

/** README "Cost": the lean profile, as an operator writes it into `runtime`. */
const LEAN = {
  webhookEndpoint: 'function-url',
  stateTable: { billing: 'provisioned' },
  systemLogLevel: 'WARN',
};

let dir: string;
let app: App;
let resources: Resource[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-lean-'));
  const built = buildApp(configWithRuntime(dir, 'lean', LEAN), { 'aws:cdk:bundling-stacks': [] });
  app = built.app;
  resources = Object.values(flatTemplate(built.stack).Resources as Record<string, Resource>);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ofType = (type: string) => resources.filter((r) => r.Type === type);

describe('the lean profile', () => {
  it('serves webhooks from a function URL, bills the table by provisioned capacity and drops Lambda’s own lines', () => {
    expect(ofType('AWS::ApiGatewayV2::Api')).toHaveLength(0);
    expect(ofType('AWS::Lambda::Url')).toHaveLength(1);
    const [table] = ofType('AWS::DynamoDB::Table');
    expect(table?.Properties.BillingMode ?? 'PROVISIONED').toBe('PROVISIONED');
    expect(table?.Properties.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 5, WriteCapacityUnits: 5 });
    expect(ofType('AWS::ApplicationAutoScaling::ScalableTarget')).toHaveLength(2);
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);
    for (const fn of functions) {
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'WARN' });
    }
  });

  it.each(NAG_PACKS)('%s: finds nothing unacknowledged', (pack) => {
    expect(nagFindings(app, pack)).toEqual([]);
  });
});
