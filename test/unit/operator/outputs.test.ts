/** The stack output names and the bound on a flow output's size (lib/outputs.ts). */
import { describe, expect, it } from '@jest/globals';
import { flows } from '../../../functions/flows/index.ts';
import { flowQueueName } from '../../../lib/entries.ts';
import {
  type FlowOutput,
  flowOutputBound,
  flowOutputKey,
  MAX_OUTPUT_VALUE,
  webhookOutputKey,
} from '../../../lib/outputs.ts';

const VALID_KEY = /^[A-Za-z0-9]{1,255}$/;

describe('output keys', () => {
  it('are the PascalCase of a kebab id', () => {
    expect(flowOutputKey('machinemetrics-downtime-to-upkeep-work-order')).toBe(
      'FlowMachinemetricsDowntimeToUpkeepWorkOrder',
    );
    expect(webhookOutputKey('mobility-work')).toBe('WebhookUrlMobilityWork');
    expect(webhookOutputKey('upkeep')).toBe('WebhookUrlUpkeep');
  });

  it('stay alphanumeric, within 255 characters and distinct for ids PascalCase would merge', () => {
    const long = 'x'.repeat(300);
    const ids = [
      'a-1b',
      'a1b',
      'A1b',
      'a_1b',
      'a.1b',
      'a--1b',
      `${long}-1`,
      `${long}-2`,
      'plant-a',
      'plant-a-',
    ];
    const keys = ids.map(flowOutputKey);
    for (const key of keys) expect(key).toMatch(VALID_KEY);
    expect(new Set(keys).size).toBe(ids.length);
  });

  it('are distinct for every registered flow', () => {
    const keys = flows.map((f) => flowOutputKey(f.id));
    expect(new Set(keys).size).toBe(flows.length);
    for (const key of keys) expect(key).toMatch(VALID_KEY);
  });
});

describe('flowOutputBound', () => {
  it('is at least as long as a flow output with the longest names AWS allows', () => {
    const id = 'machinemetrics-downtime-to-upkeep-work-order';
    const queueName = flowQueueName('Millwright', id);
    const queue = `https://sqs.ap-southeast-2.amazonaws.com.cn/123456789012/${queueName}`;
    const longest: FlowOutput = {
      flow: id,
      queue,
      dlq: `${queue}-dlq`,
      worker: 'w'.repeat(64),
      schedules: [{ source: 'machinemetrics.downtime', name: 's'.repeat(64), group: 'g'.repeat(64) }],
    };
    expect(flowOutputBound(id, queueName, ['machinemetrics.downtime'])).toBeGreaterThanOrEqual(
      JSON.stringify(longest).length,
    );
  });

  it("keeps every registered flow well under CloudFormation's 4,096, and exceeds it for an absurd id", () => {
    for (const flow of flows) {
      const sources = flow.triggers.flatMap((t) => (t.kind === 'schedule' ? [t.source.id] : []));
      expect(flowOutputBound(flow.id, flowQueueName('Millwright', flow.id), sources)).toBeLessThan(
        MAX_OUTPUT_VALUE / 4,
      );
    }
    const absurd = 'f'.repeat(4000);
    expect(flowOutputBound(absurd, flowQueueName('Millwright', absurd), [])).toBeGreaterThan(
      MAX_OUTPUT_VALUE,
    );
  });
});
