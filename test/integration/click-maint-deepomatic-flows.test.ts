import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { memoryLog } from '../../functions/core/log.ts';
import { FLOW_ID as DM_REQUEST_FLOW } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { manualClock } from '../../sandbox/clock.ts';
import { MACHINES, postJson, sandboxControl } from '../../sandbox/control.ts';
import { type Sandbox, startSandbox } from '../../sandbox/runtime.ts';
import { sandboxSecrets } from '../../sandbox/secrets.ts';

const secrets = sandboxSecrets() as Record<string, Record<string, string>>;

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({
    config: 'config/default.json',
    secrets,
    clock: manualClock('2026-11-02T08:00:00.000Z'),
    basePort: 0,
    visibilityTimeoutSeconds: 1,
    httpTimeoutMs: 800,
    simulatorOptions: { 'mobility-work': { applyDelayMs: 20 }, 'click-maint': { windowSeconds: 5 } },
    log: memoryLog(),
  });
  await sandboxControl(sandbox).advance(0);
});
afterAll(() => sandbox?.close());

const cm = () => sandbox.simulators['click-maint'] as NonNullable<Sandbox['simulators']['click-maint']>;
const dm = () => sandbox.simulators.deepomatic as NonNullable<Sandbox['simulators']['deepomatic']>;
const up = () => sandbox.simulators.upkeep as NonNullable<Sandbox['simulators']['upkeep']>;

async function upkeepSession(): Promise<string> {
  const res = await postJson(`${up().baseUrl}/auth`, {
    email: secrets['millwright/upkeep']?.email,
    password: secrets['millwright/upkeep']?.password,
  });
  return ((await res.json()) as { result: { sessionToken: string } }).result.sessionToken;
}

describe('machinemetrics-downtime-to-click-maint-work-order', () => {
  it('creates one work order per episode, finding the one an unanswered create made', async () => {
    const c = sandboxControl(sandbox);
    await postJson(`${cm().url}/_sandbox/faults`, {
      match: 'POST /api/v1/work_orders',
      timeoutAfterWrite: true,
      delayMs: 3000,
    });
    await c.machine(MACHINES.two, 'down');
    await c.advance(20);
    const lathe = () =>
      cm()
        .workOrders(1)
        .filter((w) => w.asset_id === 46);
    expect(lathe()).toHaveLength(1);
    const runs = await sandbox.state.listRuns('machinemetrics-downtime-to-click-maint-work-order', 50);
    expect(runs.some((r) => r.message.includes('made by an earlier attempt'))).toBe(true);
    await c.machine(MACHINES.two, 'up');
    await c.advance(10);
    expect(lathe()[0]?.status_id).toBe(5);
  });
});

describe('upkeep-work-order-to-deepomatic-validation and back', () => {
  it('creates at most one Deepomatic work order per UpKeep work order under duplicates and retries', async () => {
    const token = await upkeepSession();
    const create = async (body: Record<string, unknown>) =>
      (
        (await (await postJson(`${up().baseUrl}/work-orders/`, body, { 'session-token': token })).json()) as {
          result: { id: string };
        }
      ).result.id;
    const dmFor = (id: string) =>
      dm()
        .workOrders()
        .filter((w) => w.name === `upkeep-${id}`);

    const first = await create({ title: 'Replace filter', category: 'Photo validation' });
    await sandbox.settle();
    // The same webhook again (a redelivery) and an update: still one.
    const delivered = sandbox.enqueued.filter((e) => e.queueUrl.includes(DM_REQUEST_FLOW)).at(-1);
    if (delivered)
      await sandbox.send(DM_REQUEST_FLOW, [
        delivered.event,
        { ...delivered.event, id: `${delivered.event.id}-again` },
      ]);
    await sandbox.settle();
    expect(dmFor(first)).toHaveLength(1);

    // Deepomatic creates it but the answer is lost; UpKeep then sends an update: not resent.
    await postJson(`${dm().url}/_sandbox/faults`, {
      match: 'POST /v0.2/work-orders',
      timeoutAfterWrite: true,
      delayMs: 3000,
    });
    const second = await create({ title: 'Repaint guard #photo-check' });
    await sandbox.settle();
    await fetch(`${up().baseUrl}/work-orders/${second}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'session-token': token },
      body: JSON.stringify({ priority: 3 }),
    });
    await sandbox.settle();
    expect(dmFor(second)).toHaveLength(1);

    // A Deepomatic refusal that certainly created nothing (429) is retried and creates exactly one.
    await postJson(`${dm().url}/_sandbox/faults`, { match: 'POST /v0.2/work-orders', status: 429 });
    const third = await create({ title: 'Check guard', category: 'Photo validation' });
    await sandbox.settle();
    expect(dmFor(third)).toHaveLength(1);
  });

  it('completes or holds the UpKeep work order when validation concludes, with a note', async () => {
    const token = await upkeepSession();
    const create = async (title: string) =>
      (
        (await (
          await postJson(
            `${up().baseUrl}/work-orders/`,
            { title, category: 'Photo validation' },
            { 'session-token': token },
          )
        ).json()) as {
          result: { id: string };
        }
      ).result.id;
    const pass = await create('Pass me');
    const fail = await create('Fail me');
    await sandbox.settle();
    const c = sandboxControl(sandbox);
    await c.advance(10); // progress reaches 100, checkpoints still unanalysed: nothing changes
    const status = (id: string) =>
      up()
        .workOrders()
        .find((w) => w.id === id)?.status;
    expect(status(pass)).toBe('open');
    dm().setOutcome(`upkeep-${pass}`, 'passed', { review: true });
    dm().setOutcome(`upkeep-${fail}`, 'failed', { review: false });
    await c.advance(5);
    expect(status(pass)).toBe('complete');
    expect(status(fail)).toBe('onHold');
    expect(up().workOrderMessages(fail).at(-1)?.text).toContain('FAILED');
    // Concluded: not followed any more, and a later poll changes nothing.
    await c.advance(5);
    expect(up().workOrderMessages(pass)).toHaveLength(1);
    // No loop: the webhooks of our status writes came back and made no second validation.
    await sandbox.settle();
    const echoed = up()
      .webhookDeliveries()
      .filter(
        (d) => JSON.stringify(d).includes(pass) && /WORK_ORDER_(STATUS_)?UPDATED/.test(JSON.stringify(d)),
      );
    expect(echoed.length).toBeGreaterThan(0);
    expect(
      dm()
        .workOrders()
        .filter((w) => w.name === `upkeep-${pass}`),
    ).toHaveLength(1);
    expect(
      dm()
        .workOrders()
        .filter((w) => w.name === `upkeep-${fail}`),
    ).toHaveLength(1);
    const runs = await sandbox.state.listRuns(DM_REQUEST_FLOW, 200);
    const about = (id: string) => runs.filter((r) => r.subjects?.includes(id) ?? r.message.includes(id));
    expect(about(pass).filter((r) => r.outcome === 'done')).toHaveLength(1);
    expect(about(pass).filter((r) => !['done', 'skipped', 'duplicate', 'echo'].includes(r.outcome))).toEqual(
      [],
    );
  });
});
