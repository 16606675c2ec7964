/**
 * The operator CLI against the real sandbox (in this process): the same commands an operator types,
 * with the target opened from the running sandbox instead of .sandbox/endpoints.json.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { MACHINES, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { sandboxCli } from '../support/cli.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;

const { cli } = sandboxCli(() => sandbox);

beforeAll(async () => {
  sandbox = await startTestSandbox();
  const control = sandboxControl(sandbox);
  await control.advance(0);
  await control.machine(MACHINES.one, 'down');
  await control.advance(20);
  await control.machine(MACHINES.one, 'up');
  await control.advance(10);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('millwright runs', () => {
  it("--subject returns one machine's whole story across flows, newest first, in one query", async () => {
    const { code, out } = await cli('--json', 'runs', '--subject', MACHINES.one);
    expect(code).toBe(0);
    const result = JSON.parse(out) as {
      entries: { flowId: string; eventType: string; at: string; effects?: Record<string, string> }[];
      cost: { requests: number };
    };
    expect(result.cost.requests).toBe(1);
    const types = result.entries.filter((e) => e.flowId === FLOW_ID).map((e) => e.eventType);
    expect(types).toEqual(
      expect.arrayContaining(['machinemetrics.downtime.started', 'machinemetrics.downtime.ended']),
    );
    // Every flow that heard about the machine is in its story.
    expect(new Set(result.entries.map((e) => e.flowId)).size).toBeGreaterThan(1);
    const ats = result.entries.map((e) => e.at);
    expect([...ats].sort().reverse()).toEqual(ats);
    // The work order the machine's downtime created is found by its own id, too.
    const workOrderId = result.entries.find((e) => e.effects?.workOrderId)?.effects?.workOrderId as string;
    expect(workOrderId).toBeTruthy();
    const byWorkOrder = JSON.parse((await cli('--json', 'runs', '--subject', workOrderId)).out) as {
      entries: { subject?: string }[];
    };
    expect(byWorkOrder.entries.some((e) => e.subject === MACHINES.one)).toBe(true);
  });

  it('filters by flow, outcome and time, and prints a table by default', async () => {
    const table = await cli('runs', '--flow', FLOW_ID, '--since', '1h');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^WHEN\s+FLOW\s+OUTCOME\s+EVENT/m);
    expect(table.out).toContain(FLOW_ID);
    const none = JSON.parse(
      (await cli('--json', 'runs', '--flow', FLOW_ID, '--outcome', 'dead-lettered')).out,
    ) as {
      entries: unknown[];
    };
    expect(none.entries).toEqual([]);
    const old = JSON.parse((await cli('--json', 'runs', '--until', '2d')).out) as { entries: unknown[] };
    expect(old.entries).toEqual([]);
  });

  it('refuses a bad time, limit or flow with exit code 2 and says why', async () => {
    const bad = await cli('runs', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--since: "yesterday" is neither a duration');
    expect((await cli('runs', '--limit', '0')).code).toBe(2);
    const flow = await cli('runs', '--flow', 'no-such-flow');
    expect(flow.code).toBe(2);
    expect(flow.err).toContain('no enabled flow "no-such-flow"');
  });
});

describe('millwright show', () => {
  it('shows the event, every attempt and the vendor record ids', async () => {
    const runs = JSON.parse((await cli('--json', 'runs', '--flow', FLOW_ID, '--outcome', 'done')).out) as {
      entries: { eventId: string; effects?: Record<string, string> }[];
    };
    const done = runs.entries.find((e) => e.effects?.workOrderId);
    expect(done).toBeDefined();
    const { code, out } = await cli('show', done?.eventId as string);
    expect(code).toBe(0);
    expect(out).toContain(`Event ${done?.eventId}`);
    expect(out).toContain(`workOrderId=${done?.effects?.workOrderId}`);
    expect(out).toMatch(/Attempts \(oldest first\)/);
    expect(out).toContain('"type": "machinemetrics.downtime');
  });

  it('answers exit code 4 for an event the run log does not know', async () => {
    const { code, err } = await cli('show', 'no-such-event');
    expect(code).toBe(4);
    expect(err).toContain('no run-log entry for event no-such-event');
  });
});

describe('millwright status', () => {
  it('lists every enabled flow with its queues, polls and last hour', async () => {
    const { code, out } = await cli('--json', 'status');
    expect(code).toBe(0);
    const report = JSON.parse(out) as {
      flows: {
        flowId: string;
        paused: boolean;
        queue: { visible: number };
        deadLetters: { depth: number };
        polls: { sourceId: string; lastRun?: { at: string } }[];
        lastHour: Record<string, number>;
      }[];
      attention: string[];
    };
    expect(report.flows.map((f) => f.flowId).sort()).toEqual([...sandbox.flows.keys()].sort());
    const flow = report.flows.find((f) => f.flowId === FLOW_ID);
    expect(flow?.paused).toBe(false);
    expect(flow?.deadLetters.depth).toBe(0);
    expect(flow?.polls[0]?.lastRun?.at).toBeTruthy();
    expect(flow?.lastHour.done).toBeGreaterThanOrEqual(1);
    expect(report.attention).toEqual([]);
    const table = await cli('status', '--check');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^FLOW\s+STATE\s+QUEUED/m);
    expect(table.out).toContain('Pollers');
  });

  it('--help has an example', async () => {
    const { code, out } = await cli('status', '--help');
    expect(code).toBe(0);
    expect(out).toContain('npx millwright status');
  });
});
