/**
 * The Mobility Work flows end to end on real local engines: dynalite, local SQS with redrive, the
 * MachineMetrics, UpKeep and Mobility Work simulators (signed webhooks, 202 writes applied later),
 * the real ingress, poller and worker handlers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DOWNTIME_STARTED } from '../../functions/connectors/machinemetrics/events.ts';
import { mwSimNewSparePart } from '../../functions/connectors/mobility-work/simulator/index.ts';
import { memoryLog } from '../../functions/core/log.ts';
import { FLOW_ID as TASK_FLOW } from '../../functions/flows/machinemetrics-downtime-to-mobility-work-task.ts';
import { FLOW_ID as ALERT_FLOW } from '../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { FLOW_ID as STATUS_FLOW } from '../../functions/flows/mobility-work-task-to-upkeep-work-order-status.ts';
import { FLOW_ID as PART_FLOW } from '../../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { manualClock } from '../../sandbox/clock.ts';
import { MACHINES, PARTS, postJson, sandboxControl } from '../../sandbox/control.ts';
import { type Sandbox, startSandbox } from '../../sandbox/runtime.ts';
import { sandboxSecrets } from '../../sandbox/secrets.ts';

const secrets = sandboxSecrets() as Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary config paths.
const baseConfig = () => JSON.parse(readFileSync('config/default.json', 'utf8')) as Record<string, any>;

/** Each sandbox's log lines (the ingress says which echoes it acknowledged without enqueueing). */
const logs = new WeakMap<Sandbox, ReturnType<typeof memoryLog>>();

async function start(config: Record<string, unknown>): Promise<Sandbox> {
  const log = memoryLog();
  const sandbox = await startSandbox({
    config,
    secrets,
    clock: manualClock('2026-11-02T08:00:00.000Z'),
    basePort: 0,
    visibilityTimeoutSeconds: 1,
    httpTimeoutMs: 800,
    simulatorOptions: { 'mobility-work': { applyDelayMs: 20 } },
    log,
  });
  logs.set(sandbox, log);
  await sandboxControl(sandbox).advance(0);
  return sandbox;
}

const mw = (s: Sandbox) => {
  const sim = s.simulators['mobility-work'];
  if (!sim) throw new Error('no Mobility Work simulator');
  return sim;
};
const up = (s: Sandbox) => {
  const sim = s.simulators.upkeep;
  if (!sim) throw new Error('no UpKeep simulator');
  return sim;
};
const calls = (s: Sandbox, path: string) => mw(s).requests.filter((r) => r.endsWith(path)).length;
const posFor = (s: Sandbox, partId: string) =>
  up(s)
    .purchaseOrders()
    .filter((po) => po.parts.some((line) => line.id === partId));

describe('both stock directions at once (loop prevention)', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await start(baseConfig());
  });
  afterAll(() => sandbox?.close());

  it('forwards real changes each way once, recognises its own echoes, and goes quiet', async () => {
    const c = sandboxControl(sandbox);
    const stockWrites = calls(sandbox, '/partners/v1/spare-parts/movements/bulk');
    // At the same time: a technician takes bearings in UpKeep, a planner uses belts in Mobility Work.
    await Promise.all([
      c.upkeepPart(PARTS.bearing, 'consume', 9),
      c.mobilityWorkPart(PARTS.belt, 'consume', 2),
    ]);
    await c.advance(5);

    // UpKeep -> Mobility Work: one stock write, and Mobility Work now says 3.
    expect(calls(sandbox, '/partners/v1/spare-parts/movements/bulk')).toBe(stockWrites + 1);
    expect(
      mw(sandbox)
        .spareParts()
        .find((p) => p.externalReference === PARTS.bearing)?.stock,
    ).toBe(3);
    // Mobility Work -> UpKeep: a purchase order for the belt (a real alert) ...
    expect(posFor(sandbox, PARTS.belt)).toHaveLength(1);
    // ... and none for the bearing: Mobility Work's alert about our own write is an echo.
    expect(posFor(sandbox, PARTS.bearing)).toHaveLength(0);
    const alertRuns = await sandbox.state.listRuns(ALERT_FLOW, 100);
    expect(alertRuns.some((r) => r.outcome === 'echo' && r.message.includes(PARTS.bearing))).toBe(true);

    // Quiet: more polls create no writes, no purchase orders, and no Mobility Work events.
    const writes = calls(sandbox, '/partners/v1/spare-parts/movements/bulk');
    const mwEvents = () => sandbox.enqueued.filter((e) => e.event.type.startsWith('mobility-work.')).length;
    const before = mwEvents();
    await c.advance(5);
    await c.advance(5);
    expect(calls(sandbox, '/partners/v1/spare-parts/movements/bulk')).toBe(writes);
    expect(up(sandbox).purchaseOrders()).toHaveLength(1);
    expect(mwEvents()).toBe(before);
  });

  it('creates at most one purchase order per Mobility Work low episode, and re-arms on restock', async () => {
    const c = sandboxControl(sandbox);
    await c.mobilityWorkPart(PARTS.belt, 'consume', 1); // 1 -> 0: out of stock, same episode
    await sandbox.settle();
    expect(posFor(sandbox, PARTS.belt)).toHaveLength(1);
    await c.mobilityWorkPart(PARTS.belt, 'restock', 10); // above the minimum: episode ends
    await sandbox.settle();
    await c.mobilityWorkPart(PARTS.belt, 'consume', 9); // low again: a new episode
    await sandbox.settle();
    expect(posFor(sandbox, PARTS.belt)).toHaveLength(2);
  });
});

describe('machinemetrics-downtime-to-mobility-work-task', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await start(baseConfig());
  });
  afterAll(() => sandbox?.close());
  const tasksOf = (machineId: string) =>
    mw(sandbox)
      .tasks()
      .filter((t) => t.metadata.machineId === machineId);

  it('creates one task per downtime episode under duplicates, a 503 and an unanswered create', async () => {
    const c = sandboxControl(sandbox);
    // Episode 1: a 503 first (refused before creating: retried), then duplicates of the event.
    await postJson(`${mw(sandbox).url}/_sandbox/faults`, { match: 'POST /partners/v1/tasks', status: 503 });
    await c.machine(MACHINES.three, 'down');
    await c.advance(20);
    const started = sandbox.enqueued.find(
      (e) =>
        e.event.type === DOWNTIME_STARTED &&
        e.event.subject === MACHINES.three &&
        e.queueUrl.includes(TASK_FLOW),
    );
    expect(started).toBeDefined();
    if (started) await sandbox.send(TASK_FLOW, [started.event, started.event]);
    await sandbox.settle();
    expect(tasksOf(MACHINES.three)).toHaveLength(1);

    // Episode 2: Mobility Work creates the task but the answer never arrives; the retry must not post again.
    await c.machine(MACHINES.three, 'up');
    await c.advance(10);
    await postJson(`${mw(sandbox).url}/_sandbox/faults`, {
      match: 'POST /partners/v1/tasks',
      timeoutAfterWrite: true,
      delayMs: 3000,
    });
    await c.machine(MACHINES.three, 'down');
    await c.advance(20);
    const second = sandbox.enqueued
      .filter((e) => e.event.type === DOWNTIME_STARTED && e.event.subject === MACHINES.three)
      .at(-1);
    if (second) await sandbox.send(TASK_FLOW, [second.event]);
    await sandbox.settle();
    const tasks = tasksOf(MACHINES.three);
    expect(tasks).toHaveLength(2);
    // Both ids were learned from the TaskWasScheduled webhooks through the metadata.
    for (const task of tasks) {
      expect(
        await sandbox.state.getMapping('mobility-work-task-by-episode', String(task.metadata.millwrightKey)),
      ).toBe(task.id);
    }
  });
});

describe('mobility-work-task-to-upkeep-work-order-status', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await start(baseConfig());
  });
  afterAll(() => sandbox?.close());

  it("moves the work order of the task's downtime episode, once per event, never back from complete", async () => {
    const c = sandboxControl(sandbox);
    // MACHINE 1 is mapped in both downtime flows: an UpKeep work order and a Mobility Work task.
    await c.machine(MACHINES.one, 'down');
    await c.advance(20);
    const task = mw(sandbox)
      .tasks()
      .find((t) => t.metadata.machineId === MACHINES.one);
    const key = String(task?.metadata.millwrightKey);
    const workOrderId = await sandbox.state.getMapping('downtime-episode-upkeep-work-order', key);
    expect(workOrderId).toBeDefined();
    const status = () =>
      up(sandbox)
        .workOrders()
        .find((w) => w.id === workOrderId)?.status;

    await c.mobilityWorkTask('start', 'millwrightKey', key);
    await sandbox.settle();
    expect(status()).toBe('inProgress');
    await c.mobilityWorkTask('complete', 'millwrightKey', key);
    await sandbox.settle();
    expect(status()).toBe('complete');
    expect(up(sandbox).workOrderMessages(workOrderId)).toHaveLength(2);

    // A late, redelivered "started" does not reopen it; a redelivered "completed" adds no note.
    const [startedEvent, completedEvent] = ['TaskWasStarted', 'TaskWasCompleted'].map(
      (name) => sandbox.enqueued.find((e) => e.event.type === `mobility-work.${name}`)?.event,
    );
    if (startedEvent && completedEvent) {
      await sandbox.send(STATUS_FLOW, [{ ...startedEvent, id: `${startedEvent.id}-late` }, completedEvent]);
    }
    await sandbox.settle();
    expect(status()).toBe('complete');
    expect(up(sandbox).workOrderMessages(workOrderId)).toHaveLength(2);
    // Our status writes came back as UpKeep webhooks naming the versions we wrote: the ingress
    // recognised them as Millwright's own, credited to the flow that made them, and queued none of
    // them (no flow would have done anything with them). One that overtook its mark, if any, is
    // still recognised by the worker.
    const echoes = (logs.get(sandbox)?.lines ?? [])
      .filter((l) => l.message === 'webhook echoes of our own writes acknowledged without enqueueing')
      .flatMap((l) => Object.values((l.extra?.echoes ?? {}) as Record<string, string>));
    expect(echoes).toContain(STATUS_FLOW);
  });

  it('does not reopen a completed work order when a "started" arrives after the completion', async () => {
    const c = sandboxControl(sandbox);
    await c.machine(MACHINES.one, 'up');
    await c.advance(10);
    await c.machine(MACHINES.one, 'down');
    await c.advance(20);
    const task = mw(sandbox)
      .tasks()
      .filter((t) => t.metadata.machineId === MACHINES.one)
      .at(-1);
    const key = String(task?.metadata.millwrightKey);
    const workOrderId = await sandbox.state.getMapping('downtime-episode-upkeep-work-order', key);
    await c.mobilityWorkTask('complete', 'millwrightKey', key);
    await sandbox.settle();
    const completed = sandbox.enqueued
      .filter((e) => e.event.type === 'mobility-work.TaskWasCompleted')
      .at(-1);
    if (!completed || !task) throw new Error('no completion event');
    const data = completed.event.data as Record<string, unknown>;
    await sandbox.send(STATUS_FLOW, [
      {
        ...completed.event,
        id: `${completed.event.id}-started`,
        type: 'mobility-work.TaskWasStarted',
        data: {
          _event: 'TaskWasStarted',
          taskId: task.id,
          // At the completion's time: ordered, so it reaches the work order and finds it complete.
          started: { at: completed.event.occurredAt },
          metadata: data.metadata,
          networkId: data.networkId,
        },
      },
    ]);
    await sandbox.settle();
    expect(
      up(sandbox)
        .workOrders()
        .find((w) => w.id === workOrderId)?.status,
    ).toBe('complete');
    const runs = await sandbox.state.listRuns(STATUS_FLOW, 100);
    expect(runs.some((r) => r.message.includes('does not reopen'))).toBe(true);
  });

  it('ignores tasks that correspond to no UpKeep work order', async () => {
    const c = sandboxControl(sandbox);
    await c.machine(MACHINES.three, 'down'); // Mobility Work only
    await c.advance(20);
    const task = mw(sandbox)
      .tasks()
      .find((t) => t.metadata.machineId === MACHINES.three);
    await c.mobilityWorkTask('complete', 'millwrightKey', String(task?.metadata.millwrightKey));
    await sandbox.settle();
    const runs = await sandbox.state.listRuns(STATUS_FLOW, 100);
    expect(runs.some((r) => r.outcome === 'skipped' && r.message.includes('does not correspond'))).toBe(true);
  });
});

describe('bulk stock writes', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    const config = baseConfig();
    config.vendors['mobility-work'].bulkLimit = 300;
    // Only the flows this test is about (and the echo guard), so the sandbox drains quickly.
    for (const [id, flow] of Object.entries(config.flows as Record<string, { enabled: boolean }>)) {
      flow.enabled = id === PART_FLOW || id === ALERT_FLOW;
    }
    sandbox = await start(config);
  });
  afterAll(() => sandbox?.close());

  it('sends the parts of one poll in bulk calls split at the limit', async () => {
    const refs = Array.from({ length: 1000 }, (_, i) => `PartBulk${String(i).padStart(4, '0')}`);
    const apiKey = (secrets['millwright/mobility-work'] as { apiKey: string }).apiKey;
    const created = await fetch(`${mw(sandbox).url}/partners/v1/spare-parts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': apiKey },
      body: JSON.stringify(refs.map((ref) => mwSimNewSparePart(ref, `Bulk part ${ref}`))),
    });
    expect(created.status).toBe(202);
    await mw(sandbox).settle();
    await postJson(`${up(sandbox).url}/_sandbox/parts`, {
      parts: refs.map((id) => ({ id, name: `Bulk part ${id}`, quantity: 2, minimumQuantity: 5 })),
    });
    const before = mw(sandbox).requests.length;
    await sandboxControl(sandbox).advance(5, 240_000);
    const made = mw(sandbox).requests.slice(before);
    // 1,000 parts, limit 300: 4 + 4 requests (minimum alignment, then stock), not 2,000.
    expect(made.filter((r) => r.endsWith('/movements/bulk'))).toHaveLength(4);
    expect(made.filter((r) => r.endsWith('/spare-parts/attributes'))).toHaveLength(4);
    const stock = new Map(
      mw(sandbox)
        .spareParts()
        .map((p) => [p.externalReference, p.stock]),
    );
    expect(refs.every((ref) => stock.get(ref) === 2)).toBe(true);
    const runs = await sandbox.state.listRuns(PART_FLOW, 10);
    expect(runs.some((r) => r.outcome === 'done' && r.message.includes('in 8 request(s)'))).toBe(true);
  }, 600_000);
});

describe('a part UpKeep sends that the poller cannot parse (one bad record never stalls the poller)', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await start(baseConfig());
  });
  afterAll(() => sandbox?.close());

  it('is skipped with a run-log entry, and the parts after it still sync', async () => {
    const c = sandboxControl(sandbox);
    // The simulator holds only well-formed parts, so the next GET /parts is answered with a page as
    // UpKeep could send it: a part without a quantity (optional in the doc), one whose quantity is not
    // a number, then a real part that fell below its minimum.
    const at = new Date(sandbox.clock.now().getTime() + 60_000).toISOString();
    const wire = (id: string, fields: Record<string, unknown>) => ({
      id,
      name: `Part ${id}`,
      minimumQuantity: '4',
      createdAt: at,
      updatedAt: at,
      ...fields,
    });
    await c.upkeepFault({
      match: 'GET /api/v2/parts',
      status: 200,
      body: {
        success: true,
        results: [
          wire('PartNoQty001', {}),
          wire('PartBad00017', { quantity: 'abc' }),
          wire(PARTS.bearing, { quantity: '3' }),
        ],
      },
    });
    const polls = await c.advance(5, 240_000);

    expect(polls.find((p) => p.source === 'upkeep.parts')).toMatchObject({ events: 1, skipped: 1 });
    // The part after the bad one synced: Mobility Work's stock is UpKeep's 3.
    expect(
      mw(sandbox)
        .spareParts()
        .find((p) => p.externalReference === PARTS.bearing)?.stock,
    ).toBe(3);
    const runs = await sandbox.state.listRuns(PART_FLOW, 20);
    expect(
      runs.filter((r) => r.outcome === 'skipped' && r.eventType === 'upkeep.parts.record-skipped'),
    ).toEqual([
      expect.objectContaining({
        message:
          'UpKeep part PartBad00017 skipped: quantity: expected a number or a numeric string, got "abc"; not synced until it changes again in UpKeep',
      }),
    ]);
    // The part without a quantity is unknown, not 0: nothing was written for it.
    expect(runs.some((r) => r.outcome === 'done' && r.message.includes('1 no-quantity'))).toBe(true);
    expect(
      mw(sandbox)
        .spareParts()
        .some((p) => p.externalReference === 'PartNoQty001'),
    ).toBe(false);

    // The next poll neither stalls on the bad part nor reports it again.
    const next = await c.advance(5, 240_000);
    expect(next.find((p) => p.source === 'upkeep.parts')).toMatchObject({ skipped: 0 });
  }, 300_000);
});
