/**
 * `runtime.webhookEndpoint: "function-url"` (issue 14: the HTTP API is $1.00 of about $5 per million
 * webhook events): the ingress function's own public URL instead of the HTTP API, with both
 * resource-policy statements AWS requires of a public function URL, the same outputs the operator
 * CLI reads, and alarms and dashboard on the function URL's metrics. The default stays the HTTP API.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { validateDeployment } from '../../functions/config/deployment.ts';
import { connectors } from '../../functions/connectors/index.ts';
import { ConfigError } from '../../functions/core/errors.ts';
import { flows } from '../../functions/flows/index.ts';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';
import { webhookOutputKey } from '../../lib/outputs.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';
import { NAG_PACKS, nagFindings } from '../support/infra.ts';

const CONFIG = join(PROJECT_ROOT, 'config/default.json');
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const WEBHOOK_ROUTES = connectors.flatMap((c) => (c.webhook ? [c.webhook.route] : []));

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}

let dir: string;
let app: App;
let template: Template;
let resources: Record<string, Resource>;
let outputs: Record<string, { Value: unknown; Description?: string }>;

const ofType = (type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

/** The ingress function's logical id. */
const ingressId = (): string => {
  const found = ofType('AWS::Lambda::Function').filter(([, r]) =>
    String(r.Properties.Description).startsWith('Millwright webhook ingress'),
  );
  expect(found).toHaveLength(1);
  return found[0]?.[0] ?? '';
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-furl-'));
  const config = JSON.parse(readFileSync(CONFIG, 'utf8')) as { runtime: Json };
  config.runtime.webhookEndpoint = 'function-url';
  const path = join(dir, 'function-url.json');
  writeFileSync(path, JSON.stringify(config));
  const built = buildApp(path, NO_BUNDLING);
  app = built.app;
  const flat = flatTemplate(built.stack);
  template = Template.fromJSON(flat);
  resources = flat.Resources as Record<string, Resource>;
  outputs = flat.Outputs as typeof outputs;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runtime.webhookEndpoint "function-url"', () => {
  it('creates no HTTP API, stage, route or access log group', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 0);
    // The only log groups left are the functions' own.
    for (const [, group] of ofType('AWS::Logs::LogGroup')) {
      expect(JSON.stringify(group)).not.toContain('AccessLogs');
    }
  });

  it('gives the ingress function one public URL (auth type NONE)', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [ingressId(), 'Arn'] },
    });
  });

  it('grants both permissions a public function URL needs since October 2025', () => {
    const fn = { 'Fn::GetAtt': [ingressId(), 'Arn'] };
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionName: fn,
      FunctionUrlAuthType: 'NONE',
      Principal: '*',
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: fn,
      InvokedViaFunctionUrl: true,
      Principal: '*',
    });
    // No public lambda:InvokeFunction without the function-URL condition.
    const open = ofType('AWS::Lambda::Permission').filter(
      ([, p]) =>
        p.Properties.Principal === '*' &&
        p.Properties.Action === 'lambda:InvokeFunction' &&
        p.Properties.InvokedViaFunctionUrl !== true,
    );
    expect(open).toEqual([]);
  });

  it('outputs ApiUrl as the URL without its trailing slash, and each webhook URL from it', () => {
    const [urlId] = ofType('AWS::Lambda::Url')[0] ?? [''];
    const host = { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [urlId, 'FunctionUrl'] }] }] };
    expect(outputs.ApiUrl?.Value).toEqual({ 'Fn::Join': ['', ['https://', host]] });
    const webhookKeys = Object.keys(outputs).filter((k) => k.startsWith('WebhookUrl'));
    expect(webhookKeys).toHaveLength(WEBHOOK_ROUTES.length);
    for (const connector of connectors) {
      if (!connector.webhook) continue;
      const path = connector.webhook.route.slice(connector.webhook.route.indexOf(' ') + 1);
      expect(outputs[webhookOutputKey(connector.id)]?.Value).toEqual({
        'Fn::Join': ['', ['https://', host, path]],
      });
    }
    expect(outputs.WebhookUrlUpkeep?.Description).toContain('webhookToken');
  });

  it("alarms on the function URL's 5xx answers, and keeps the function's own alarms", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Url5xxCount',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ingressId() } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: Match.anyValue(),
    });
    for (const metric of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: ingressId() } }],
      });
    }
    expect(JSON.stringify(ofType('AWS::CloudWatch::Alarm'))).not.toContain('AWS/ApiGateway');
  });

  it("graphs the function URL's requests, 4xx and 5xx on the dashboard", () => {
    const body = JSON.stringify(ofType('AWS::CloudWatch::Dashboard').map(([, d]) => d.Properties));
    for (const metric of ['UrlRequestCount', 'Url4xxCount', 'Url5xxCount']) expect(body).toContain(metric);
    expect(body).not.toContain('AWS/ApiGateway');
  });

  it.each(NAG_PACKS)('%s: finds nothing unacknowledged', (pack) => {
    expect(nagFindings(app, pack)).toEqual([]);
  });
});

describe('runtime.webhookEndpoint in the config', () => {
  const base = () => JSON.parse(readFileSync(CONFIG, 'utf8')) as { runtime: Json };

  it('defaults to the HTTP API', () => {
    expect(validateDeployment(base(), flows).runtime.webhookEndpoint).toBe('http-api');
  });

  it('refuses another value, naming the field path and the file', () => {
    const raw = base();
    raw.runtime.webhookEndpoint = 'lambda-url';
    let error: unknown;
    try {
      validateDeployment(raw, flows, 'config/plant.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('runtime.webhookEndpoint');
    expect((error as ConfigError).message).toContain('config/plant.json');
    expect((error as ConfigError).message).toMatch(/runtime\.webhookEndpoint.*http-api.*function-url/);
  });
});
