/**
 * The console's state-changing routes against a real in-process sandbox: every one answers a dry
 * run with a message that says what will happen and changes nothing; pause and resume switch the
 * flow; a dead-lettered event is replayed by a job that completes it; a backfill job re-reads a
 * window (its events absorbed as duplicates).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ConsoleServer } from '../../../console/server.ts';
import { FLOW_ID as DOWNTIME_FLOW } from '../../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as FLOW } from '../../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { listDeadLetters } from '../../../operator/dlq.ts';
import type { Target } from '../../../operator/target.ts';
import { MACHINES, postJson, sandboxControl } from '../../../sandbox/control.ts';
import type { Sandbox } from '../../../sandbox/runtime.ts';
import { startTestConsole, type TestConsole } from '../../support/console.ts';

let sandbox: Sandbox;
let target: Target;
let server: ConsoleServer;
let api: TestConsole['api'];
let running: TestConsole;

beforeAll(async () => {
  running = await startTestConsole({ by: 'ana' });
  ({ sandbox, target, server, api } = running);
});
afterAll(() => running?.close());

const dm = () => sandbox.simulators.deepomatic as NonNullable<Sandbox['simulators']['deepomatic']>;

/** An UpKeep work order in the category the Deepomatic flow sends on (its webhook reaches the flow). */
const photoWorkOrder = (title: string): Promise<string> =>
  sandboxControl(sandbox).upkeepWorkOrder({ title, category: 'Photo validation' });

describe('pause and resume', () => {
  it('a dry run says what pausing does and changes nothing; then it pauses and resumes', async () => {
    const dry = await api.post(`/api/flows/${FLOW}/pause`, { dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json.message).toMatch(/^Pause upkeep-work-order-to-deepomatic-validation: .*Nothing is lost/);
    expect((await target.state.getFlowControl(FLOW))?.paused ?? false).toBe(false);

    const paused = await api.post(`/api/flows/${FLOW}/pause`, {});
    expect(paused.status).toBe(200);
    expect(paused.json.lines.join('\n')).toMatch(/paused in the state table/);
    expect(await target.state.getFlowControl(FLOW)).toMatchObject({ paused: true, by: 'ana' });
    const overview = (await api.get('/api/overview')).json;
    expect(overview.flows.find((f: { flowId: string }) => f.flowId === FLOW).paused).toBe(true);
    const failures = (await api.get('/api/failures')).json;
    expect(failures.flows.find((f: { flowId: string }) => f.flowId === FLOW).paused).toBe(true);

    const resumeDry = await api.post(`/api/flows/${FLOW}/resume`, { dryRun: true });
    expect(resumeDry.json.message).toMatch(/^Resume upkeep-work-order-to-deepomatic-validation/);
    expect((await target.state.getFlowControl(FLOW))?.paused).toBe(true);
    const resumed = await api.post(`/api/flows/${FLOW}/resume`, {});
    expect(resumed.json.lines.join('\n')).toMatch(/resumed in the state table/);
    expect((await target.state.getFlowControl(FLOW))?.paused).toBe(false);
  });

  it('an unknown flow is a 404 naming the flows there are', async () => {
    const answer = await api.post('/api/flows/no-such-flow/pause', { dryRun: true });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toMatch(/enabled flows: .*upkeep-work-order-to-deepomatic-validation/);
  });
});

describe('replay', () => {
  it('a dead-lettered event shows under failures, and a replay job from the console completes it', async () => {
    // Deepomatic refuses the create (400): not retryable, dead-lettered on the first delivery.
    await postJson(`${dm().url}/_sandbox/faults`, { match: 'POST /v0.2/work-orders', status: 400 });
    const workOrder = await photoWorkOrder('Replace filter');
    await sandbox.settle();

    const failures = (await api.get('/api/failures')).json;
    const letters = failures.flows.find((f: { flowId: string }) => f.flowId === FLOW).deadLetters;
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter).toMatchObject({ eventType: 'upkeep.WORK_ORDER_CREATED', subject: workOrder });
    expect(letter.reason).toMatch(/-> 400/);
    expect(letter.body).toBeUndefined();
    const card = (await api.get('/api/overview')).json.flows.find(
      (f: { flowId: string }) => f.flowId === FLOW,
    );
    expect(card.deadLetters.depth).toBe(1);
    expect(card.oldestMessageAgeSeconds).toBeGreaterThanOrEqual(0);

    const dry = await api.post(`/api/flows/${FLOW}/replay`, { ids: [letter.eventId], dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json.message).toBe(
      `Replay 1 event of ${FLOW} onto its queue at 10/s: they go back on its queue and run again; effects already made are not made twice.`,
    );
    expect(dry.json.preview).toMatchObject({ selected: 1, replayed: 0, dryRun: true });
    expect(await listDeadLetters(target, FLOW)).toHaveLength(1);

    expect((await api.post(`/api/flows/${FLOW}/replay`, { all: true, ratePerSecond: 5000 })).status).toBe(
      400,
    );
    expect((await api.post(`/api/flows/${FLOW}/replay`, {})).status).toBe(400);

    // The manual clock stamps the run log: a second apart, its order is the order of events.
    sandbox.clock.advance(1000);
    const started = await api.post(`/api/flows/${FLOW}/replay`, { ids: [letter.eventId], ratePerSecond: 5 });
    expect(started.status).toBe(202);
    expect(started.json.job).toMatchObject({ kind: 'replay', flowId: FLOW });
    await server.jobs.idle();
    const job = (await api.get(`/api/jobs/${started.json.job.id}`)).json;
    expect(job).toMatchObject({ state: 'done', done: 1, total: 1, result: { replayed: 1 } });

    sandbox.clock.advance(1000);
    await sandbox.settle();
    const story = (await api.get(`/api/events/${encodeURIComponent(letter.eventId)}`)).json;
    expect(story.attempts.map((a: { outcome: string }) => a.outcome)).toEqual([
      'dead-lettered',
      'replayed',
      'done',
    ]);
    expect(story.attempts[1].message).toBe('replayed from the dead-letter queue by ana');
    expect(story.explanations.join('\n')).toMatch(/Dead-lettered in .*Replayed in /s);
    // The sandbox page lists the Deepomatic work order the replay made.
    const made = (await api.get('/api/sandbox')).json.workOrders.filter(
      (w: { vendor: string }) => w.vendor === 'deepomatic',
    );
    expect(made).toEqual([
      expect.objectContaining({
        title: `upkeep-${workOrder}`,
        status: expect.stringMatching(/in progress|reviewed/),
      }),
    ]);
    expect(
      (await api.get('/api/failures')).json.flows.find((f: { flowId: string }) => f.flowId === FLOW)
        .deadLetters,
    ).toEqual([]);
  });

  it('a replay job for events not on the dead-letter queue ends saying which', async () => {
    const started = await api.post(`/api/flows/${FLOW}/replay`, { ids: ['nothing-here'] });
    await server.jobs.idle();
    const job = (await api.get(`/api/jobs/${started.json.job.id}`)).json;
    expect(job).toMatchObject({ state: 'done', result: { selected: 0, notFound: ['nothing-here'] } });
  });
});

describe('backfill', () => {
  it('a dry run counts the window; the job re-reads it and the flow absorbs what was done', async () => {
    const c = sandboxControl(sandbox);
    const from = sandbox.clock.now().toISOString();
    await c.machine(MACHINES.one, 'down');
    await c.advance(20);
    await c.machine(MACHINES.one, 'up');
    await c.advance(15);
    const to = sandbox.clock.now().toISOString();

    const dry = await api.post(`/api/flows/${DOWNTIME_FLOW}/backfill`, { from, to, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json.preview).toMatchObject({ dryRun: true, events: 2, enqueued: 0 });
    expect(dry.json.message).toMatch(/re-reads that window and enqueues the 2 events it finds at 10\/s/);

    const started = await api.post(`/api/flows/${DOWNTIME_FLOW}/backfill`, { from, to, ratePerSecond: 100 });
    expect(started.status).toBe(202);
    await server.jobs.idle();
    const job = (await api.get(`/api/jobs/${started.json.job.id}`)).json;
    expect(job).toMatchObject({ kind: 'backfill', state: 'done', result: { enqueued: 2 } });
    expect(job.total).toBeGreaterThan(0);
    await sandbox.settle();
    const runs = (await api.get(`/api/runs?flow=${DOWNTIME_FLOW}&limit=200`)).json.entries;
    const backfilled = runs.filter((r: { via?: string }) => r.via === 'backfill');
    expect(backfilled.map((r: { outcome: string }) => r.outcome).sort()).toEqual(['duplicate', 'duplicate']);
    expect(await c.workOrdersFor('AssetMill01')).toHaveLength(1);
  });

  it('refuses a bad window with a 400 and the reason', async () => {
    const answer = await api.post(`/api/flows/${DOWNTIME_FLOW}/backfill`, {
      from: '2026-11-02T09:00:00Z',
      to: '2026-11-02T08:00:00Z',
      dryRun: true,
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(/must be before/);
    expect((await api.post(`/api/flows/${FLOW}/backfill`, { from: 'x', to: 'y' })).status).toBe(400);
    const webhookOnly = await api.post(`/api/flows/${FLOW}/backfill`, {
      from: '2026-11-02T07:00:00Z',
      to: '2026-11-02T08:00:00Z',
      dryRun: true,
    });
    expect(webhookOnly.status).toBe(400);
    expect(webhookOnly.json.error).toMatch(/Webhook flow/);
  });
});
