/**
 * The sandbox's data folder: DynamoDB and the simulators' state survive a restart together (so what
 * the flows remember still exists in the vendors), `reset` wipes both, and one sandbox at a time
 * uses a folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { memoryLog } from '../../functions/core/log.ts';
import { FLOW_ID as DOWNTIME_FLOW } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as ALERT_FLOW } from '../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { type Clock, manualClock } from '../../sandbox/clock.ts';
import { MACHINES, PARTS, sandboxControl } from '../../sandbox/control.ts';
import { SandboxLockedError } from '../../sandbox/data-dir.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { SimulatorStateError } from '../../sandbox/simulators/persistence.ts';
import { queueDepth } from '../../sandbox/sqs.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const START = '2026-11-02T08:00:00.000Z';

let dir: string;
const lockFile = () => join(dir, 'sandbox.lock');
/** Sandboxes still open: a test that fails half-way leaves none running. */
const running = new Set<Sandbox>();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-sandbox-data-'));
});
afterEach(async () => {
  for (const sandbox of running) await stop(sandbox);
  rmSync(dir, { recursive: true, force: true });
});

async function start(
  options: { clock?: Clock; reset?: boolean; log?: ReturnType<typeof memoryLog> } = {},
): Promise<Sandbox> {
  const sandbox = await startTestSandbox({
    dataDir: dir,
    simulatorOptions: { 'mobility-work': { applyDelayMs: 20 } },
    ...options,
  });
  running.add(sandbox);
  return sandbox;
}
async function stop(sandbox: Sandbox): Promise<void> {
  running.delete(sandbox);
  await sandbox.close();
}

const upkeep = (s: Sandbox) => {
  const sim = s.simulators.upkeep;
  if (!sim) throw new Error('no UpKeep simulator');
  return sim;
};
const purchaseOrdersFor = (s: Sandbox, partId: string) =>
  upkeep(s)
    .purchaseOrders()
    .filter((po) => po.parts.some((line) => line.id === partId));

/** Every dead-letter queue's depth and every failed run, across all flows: what a 404 would leave. */
async function failures(s: Sandbox): Promise<string[]> {
  const out: string[] = [];
  for (const [flowId, { queues }] of s.flows) {
    const dlq = await queueDepth(s.sqs.client, queues.dlqUrl);
    if (dlq.visible + dlq.inFlight > 0) out.push(`${flowId}: ${dlq.visible + dlq.inFlight} in the DLQ`);
    for (const run of await s.state.listRuns(flowId, 200)) {
      if (run.outcome === 'failed') out.push(`${flowId}: ${run.message}`);
    }
  }
  return out;
}

/** First life: a machine down long enough for a work order, and a Mobility Work part gone low. */
async function firstLife(clock: Clock) {
  const sandbox = await start({ clock });
  const c = sandboxControl(sandbox);
  await c.advance(0);
  await c.machine(MACHINES.one, 'down');
  await c.advance(20);
  await c.mobilityWorkPart(PARTS.belt, 'consume', 2); // 3 -> 1, minimum 2: a low episode begins
  await sandbox.settle();
  const [workOrder] = await c.workOrdersFor('AssetMill01');
  const [purchaseOrder] = purchaseOrdersFor(sandbox, PARTS.belt);
  if (!workOrder || !purchaseOrder) throw new Error('the first life made no work order or purchase order');
  expect(await failures(sandbox)).toEqual([]);
  await stop(sandbox);
  return { workOrder, purchaseOrder };
}

describe('a sandbox restarted on the same data folder', () => {
  it('still finds in the simulators what its DynamoDB state refers to, and follow-up events land', async () => {
    const clock = manualClock(START);
    const { workOrder, purchaseOrder } = await firstLife(clock);

    const log = memoryLog();
    const sandbox = await start({ clock: manualClock(clock.now()), log });
    const c = sandboxControl(sandbox);
    // The vendors still hold the records the flows remember.
    expect((await c.workOrdersFor('AssetMill01')).map((w) => w.id)).toEqual([workOrder.id]);
    expect(purchaseOrdersFor(sandbox, PARTS.belt).map((po) => po.id)).toEqual([purchaseOrder.id]);
    expect(log.lines.map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^simulators: restoring machinemetrics, upkeep, mobility-work/),
    );

    // The machine runs again: the open episode ends on its work order (no 404 into the DLQ).
    expect((await c.machine(MACHINES.one, 'up')).status).toBe(200);
    await c.advance(10);
    const [recovered] = await c.workOrdersFor('AssetMill01');
    expect(recovered?.id).toBe(workOrder.id);
    expect(recovered?.description).toContain('Running again since');

    // A second alert in the same low episode: still one purchase order, the one that exists.
    await c.mobilityWorkPart(PARTS.belt, 'consume', 1); // 1 -> 0: out of stock, same episode
    await sandbox.settle();
    expect(purchaseOrdersFor(sandbox, PARTS.belt).map((po) => po.id)).toEqual([purchaseOrder.id]);
    const runs = await sandbox.state.listRuns(ALERT_FLOW, 100);
    expect(runs.some((r) => r.outcome === 'duplicate' && r.message.includes(purchaseOrder.id))).toBe(true);

    expect(await failures(sandbox)).toEqual([]);
  });

  it('with reset, starts with neither DynamoDB data nor simulator state, and says what it removed', async () => {
    const clock = manualClock(START);
    await firstLife(clock);

    const log = memoryLog();
    const sandbox = await start({ clock: manualClock(clock.now()), reset: true, log });
    const reset = log.lines.find((l) => l.message.startsWith('reset:'));
    expect(reset?.message).toMatch(
      /^reset: removed .*dynamodb \(DynamoDB data, \d+ files\) and .*sqs \(queued messages\) and .*simulators \(simulator state: click-maint\.json, deepomatic\.json, machinemetrics\.json, mobility-work\.json, upkeep\.json\)$/,
    );
    expect(await sandboxControl(sandbox).workOrdersFor('AssetMill01')).toEqual([]);
    expect(purchaseOrdersFor(sandbox, PARTS.belt)).toEqual([]);
    expect(sandbox.simulators.machinemetrics?.exportState().records).toEqual([]);
    expect(await sandbox.state.listRuns(DOWNTIME_FLOW, 10)).toEqual([]);
    expect(await sandbox.state.listRuns(ALERT_FLOW, 10)).toEqual([]);
  });

  it('warns when DynamoDB data has no simulator state beside it (a folder from before they were saved)', async () => {
    await stop(await start());
    rmSync(join(dir, 'simulators'), { recursive: true });
    const log = memoryLog();
    await stop(await start({ log }));
    const warning = log.lines.find((l) => l.level === 'warn');
    expect(warning?.message).toContain('holds DynamoDB data but');
    expect(warning?.message).toContain('npm start -- --reset');
  });
});

describe('one sandbox per data folder', () => {
  it('refuses a second sandbox (and its reset) while the first runs, naming the folder and PID', async () => {
    const first = await start();
    const second = start({ reset: true });
    await expect(second).rejects.toThrow(SandboxLockedError);
    await expect(second).rejects.toThrow(
      `another sandbox (PID ${process.pid}, started ${JSON.parse(readFileSync(lockFile(), 'utf8')).startedAt}) is using the data folder ${resolve(dir)}`,
    );
    // Refused before anything started: the first sandbox's data is all there.
    expect(readdirSync(join(dir, 'simulators'))).toHaveLength(5);
    expect((await sandboxControl(first).upkeepPart(PARTS.bearing, 'consume', 1)).status).toBe(200);
    await stop(first);
    expect(existsSync(lockFile())).toBe(false);
  });

  it('takes over a lock whose sandbox is no longer running, with a log line', async () => {
    const { pid } = spawnSync(process.execPath, ['-e', '']); // exited: its PID is free
    writeFileSync(lockFile(), JSON.stringify({ pid, startedAt: START, token: 'gone' }));
    const log = memoryLog();
    await start({ log });
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: `taking over the lock ${lockFile()} of PID ${pid} (started ${START}), which is no longer running`,
      }),
    );
    expect(JSON.parse(readFileSync(lockFile(), 'utf8')).pid).toBe(process.pid);
  });

  it("takes over a lock naming this process's PID that it does not hold (a killed sandbox's PID reused)", async () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: process.pid, startedAt: START, token: 'killed' }));
    const log = memoryLog();
    await start({ log });
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: `taking over the lock ${lockFile()} of PID ${process.pid} (started ${START}), which is no longer running`,
      }),
    );
    expect(JSON.parse(readFileSync(lockFile(), 'utf8')).token).not.toBe('killed');
  });

  it('releases the lock when the start fails (an unreadable simulator state names its file)', async () => {
    await stop(await start());
    const file = join(dir, 'simulators', 'upkeep.json');
    writeFileSync(file, 'not json');
    await expect(start()).rejects.toThrow(SimulatorStateError);
    await expect(start()).rejects.toThrow(
      `cannot restore the simulator state in ${file}: it is not valid JSON`,
    );
    expect(existsSync(lockFile())).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('not json');
  });
});
