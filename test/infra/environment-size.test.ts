/**
 * Lambda refuses a function whose environment exceeds 4 KB, but only at deploy time, once tokens
 * have become real queue URLs and ARNs: synth cannot see it. A deployment with 50 webhook flows is
 * synthesized here and every function's environment rendered with realistic lengths; each must stay
 * under 1 KB, whatever the number of flows.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Stack } from 'aws-cdk-lib';
import * as z from 'zod/mini';
import { MW_EVENT } from '../../functions/connectors/mobility-work/events.ts';
import { mobilityWorkWebhook } from '../../functions/connectors/mobility-work/webhook.ts';
import { type AnyFlow, defineFlow } from '../../functions/core/flow.ts';
import { flows } from '../../functions/flows/index.ts';
import { buildApp } from '../../lib/app.ts';
import { flowQueueName, PROJECT_ROOT, planEntries } from '../../lib/entries.ts';
import { flowOutputKey, MAX_OUTPUT_VALUE, MAX_OUTPUTS } from '../../lib/outputs.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';
import { type CfnResource, environmentBytes, TemplateRenderer } from '../support/cfn-render.ts';

const FLOWS = 50;
const LIMIT = 1024;
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** A webhook flow subscribed to every Mobility Work event, with a long (realistic) id. */
const webhookFlow = (n: number): AnyFlow =>
  defineFlow({
    id: `mobility-work-spare-part-event-to-plant-erp-purchase-request-${String(n).padStart(2, '0')}`,
    description: `scale test flow ${n}`,
    vendors: ['mobility-work'],
    config: z.object({}),
    triggers: [{ kind: 'webhook', receiver: mobilityWorkWebhook }],
    setup: () => undefined,
    on: Object.fromEntries(
      Object.values(MW_EVENT).map((type) => [
        type,
        async () => ({ outcome: 'skipped' as const, message: 'scale test' }),
      ]),
    ),
  });

const extra = Array.from({ length: FLOWS }, (_, i) => webhookFlow(i + 1));
let dir: string;
let stack: Stack;
let resources: Record<string, CfnResource>;
let deploymentName: string;
let built: ReturnType<typeof buildApp>;

beforeAll(() => {
  // Entries must sit under the project root (esbuild's root); keep these out of .build/entries.
  // On a clean clone nothing has made .build yet when this file runs first.
  mkdirSync(join(PROJECT_ROOT, '.build'), { recursive: true });
  dir = mkdtempSync(join(PROJECT_ROOT, '.build', 'scale-entries-'));
  const raw = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/default.json'), 'utf8')) as {
    name?: string;
    flows: Record<string, unknown>;
  };
  for (const flow of extra) raw.flows[flow.id] = { enabled: true };
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(raw));
  built = buildApp(configPath, NO_BUNDLING, { registry: [...flows, ...extra], entriesDir: dir });
  stack = built.stack;
  deploymentName = built.deployment.name;
  resources = flatTemplate(stack).Resources;
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`a deployment with ${FLOWS} more webhook flows`, () => {
  it('keeps every function environment under 1 KB once deployed', () => {
    const renderer = new TemplateRenderer(resources);
    const sizes = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, fn]) => ({ id, bytes: environmentBytes(renderer.environment(fn)) }))
      .sort((a, b) => b.bytes - a.bytes);
    expect(sizes.length).toBeGreaterThan(FLOWS);
    const [largest] = sizes;
    console.log(
      `largest rendered Lambda environment with ${flows.length + FLOWS} flows: ${largest?.bytes} bytes (${largest?.id}); limit checked ${LIMIT}, Lambda's 4096`,
    );
    for (const { id, bytes } of sizes) expect({ id, bytes: Math.min(bytes, LIMIT) }).toEqual({ id, bytes });
    expect(largest?.bytes).toBeLessThan(LIMIT);
  });

  it('still routes every subscribed event to each of those flows, by queue name', () => {
    const ingress = planEntries(built.deployment, dir).find((e) => e.kind === 'ingress');
    const names = new Set(
      Object.values(resources)
        .filter((r) => r.Type === 'AWS::SQS::Queue')
        .map((r) => r.Properties?.QueueName),
    );
    for (const type of Object.values(MW_EVENT)) {
      const routed = ingress?.settings.routing?.[type] ?? [];
      for (const flow of extra) expect(routed).toContain(flowQueueName(deploymentName, flow.id));
      for (const name of routed) expect(names.has(name)).toBe(true);
    }
  });

  it("keeps every stack output within CloudFormation's limits once deployed", () => {
    const outputs = flatTemplate(stack).Outputs ?? {};
    expect(Object.keys(outputs).length).toBeLessThanOrEqual(MAX_OUTPUTS);
    const renderer = new TemplateRenderer(resources);
    let longest = 0;
    for (const flow of [...flows, ...extra]) {
      const key = flowOutputKey(flow.id);
      expect(key).toMatch(/^[A-Za-z0-9]{1,255}$/);
      const value = renderer.render(outputs[key]?.Value);
      expect(JSON.parse(value)).toMatchObject({ flow: flow.id });
      longest = Math.max(longest, value.length);
    }
    console.log(`longest rendered flow output: ${longest} characters; limit checked ${MAX_OUTPUT_VALUE}`);
    expect(longest).toBeLessThan(MAX_OUTPUT_VALUE);
  });

  it('gives every flow queue a distinct name within SQS limits', () => {
    const names = Object.values(resources)
      // Flow queues and their DLQs are named (the ingress derives URLs from names); the scheduler
      // DLQs are not, so CloudFormation names them uniquely.
      .filter((r) => r.Type === 'AWS::SQS::Queue' && r.Properties?.QueueName !== undefined)
      .map((r) => String(r.Properties?.QueueName));
    expect(names.length).toBeGreaterThanOrEqual(100);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});

describe('flowQueueName', () => {
  it('shortens a name SQS would refuse, keeping it unique with a hash', () => {
    const long = 'a-very-long-flow-id-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on';
    const a = flowQueueName('Millwright', `${long}-1`);
    const b = flowQueueName('Millwright', `${long}-2`);
    expect(a).not.toBe(b);
    expect(`${a}-dlq`.length).toBeLessThanOrEqual(80);
    expect(flowQueueName('Millwright', 'short-flow')).toBe('Millwright-short-flow');
  });
});
