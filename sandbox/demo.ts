import { signMobilityWorkWebhook } from '../functions/connectors/mobility-work/signature.ts';
import { mwSimNewSparePart } from '../functions/connectors/mobility-work/simulator/index.ts';
import { FLOW_ID as CM_PART_FLOW } from '../functions/flows/click-maint-part-low-to-mobility-work-stock.ts';
import { FLOW_ID as DM_RESULT_FLOW } from '../functions/flows/deepomatic-validation-to-upkeep-work-order.ts';
import { FLOW_ID as CM_DOWNTIME_FLOW } from '../functions/flows/machinemetrics-downtime-to-click-maint-work-order.ts';
import { FLOW_ID as TASK_FLOW } from '../functions/flows/machinemetrics-downtime-to-mobility-work-task.ts';
import { FLOW_ID } from '../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as ALERT_FLOW } from '../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { FLOW_ID as STATUS_FLOW } from '../functions/flows/mobility-work-task-to-upkeep-work-order-status.ts';
import { FLOW_ID as PART_FLOW } from '../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { FLOW_ID as DM_REQUEST_FLOW } from '../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { manualClock } from './clock.ts';
import { MACHINES, PARTS, postJson, sandboxControl } from './control.ts';
import { consoleLog } from './log.ts';
import { startSandbox } from './runtime.ts';
import { sandboxSecrets } from './secrets.ts';
import { queueDepth } from './sqs.ts';

const { one: MACHINE_1, two: MACHINE_2, three: MACHINE_3 } = MACHINES;
const MINUTE = 60_000;
/** Click Maint's rate window in the demo: 10 s instead of 300 s (time compressed 30x). */
const CLICK_MAINT_WINDOW_SECONDS = 10;

export interface DemoResult {
  passed: number;
  failed: number;
}

export async function runDemo(options: { quiet?: boolean } = {}): Promise<DemoResult> {
  const out = (line: string) => {
    if (!options.quiet) process.stdout.write(`${line}\n`);
  };
  const secrets = sandboxSecrets() as Record<string, Record<string, string>>;
  const clock = manualClock('2026-11-02T08:00:00.000Z');
  const sandbox = await startSandbox({
    config: 'config/default.json',
    secrets,
    clock,
    basePort: 0,
    visibilityTimeoutSeconds: 1,
    httpTimeoutMs: 1000,
    // Click Maint's 300 requests per 5 minutes, compressed 30x to 300 per 10 seconds (simulator and limiter).
    simulatorOptions: { 'click-maint': { windowSeconds: CLICK_MAINT_WINDOW_SECONDS } },
    // Worker retries compressed too: 1 s delays, a transient failure dead-lettered after ~3 s.
    retry: { baseDelaySeconds: 1, maxDelaySeconds: 1, transientBudgetSeconds: 3, waitBudgetSeconds: 30 },
    log: consoleLog({ level: 'warn', prefix: 'sandbox', write: (l) => out(`    ${l}`) }),
  });
  let passed = 0;
  let failed = 0;
  const check = (name: string, ok: boolean, detail = '') => {
    if (ok) passed++;
    else failed++;
    out(`  ${ok ? '✔' : '✘'} ${name}${ok || !detail ? '' : `: ${detail}`}`);
  };
  const step = (title: string) =>
    out(`\n▶ ${title} (sandbox clock ${clock.now().toISOString().slice(11, 16)})`);

  const mm = sandbox.simulators.machinemetrics?.url ?? '';
  const upkeep = sandbox.simulators.upkeep?.url ?? '';
  const post = postJson;
  const {
    machine,
    workOrdersFor,
    assetStatus,
    advance: advanceAndRun,
    upkeepFault: fault,
    clearUpkeepFaults: clearFaults,
    upkeepPart,
    mobilityWorkPart,
    mobilityWorkTask,
  } = sandboxControl(sandbox);
  const section = (title: string) => out(`\n━━ ${title}`);
  const workOrders = async () => [
    ...(await workOrdersFor('AssetMill01')),
    ...(await workOrdersFor('AssetLathe2')),
  ];
  const runs = () => sandbox.state.listRuns(FLOW_ID, 200);
  const flow = sandbox.flows.get(FLOW_ID);
  const mmSecret = secrets['millwright/machinemetrics'] ?? {};
  const upkeepSecret = secrets['millwright/upkeep'] ?? {};

  /** Click Maint (rate-limited polling) and Deepomatic (photo validation) flows (issue 4). */
  async function clickMaintAndDeepomaticScenarios(): Promise<void> {
    const cm = sandbox.simulators['click-maint'];
    const dm = sandbox.simulators.deepomatic;
    const mwSim = sandbox.simulators['mobility-work'];
    const upSim = sandbox.simulators.upkeep;
    if (!cm || !dm || !mwSim || !upSim)
      throw new Error('the Click Maint, Deepomatic, Mobility Work and UpKeep simulators are required');
    const runsOf = (flowId: string) => sandbox.state.listRuns(flowId, 2000);

    section(CM_DOWNTIME_FLOW);
    step('MACHINE 2 (mapped to Click Maint asset 46 "Lathe 02") had downtimes earlier in this demo');
    const lathe = cm.workOrders(1).filter((w) => w.asset_id === 46);
    check(
      'one Click Maint work order per episode',
      lathe.length >= 1 && new Set(lathe.map((w) => w.title)).size === lathe.length,
      `${lathe.length} work orders`,
    );
    check(
      'it is reactive and high priority',
      lathe.every((w) => w.type === 'reactive' && w.priority === 'high'),
    );
    const completed = lathe.filter((w) => w.status_id === 5);
    check(
      'the machine ran again: its work order is completed (onRecovery "complete")',
      completed.length >= 1,
    );

    section(CM_PART_FLOW);
    step('Click Maint parts at or below their minimum reach Mobility Work; non-stock parts are skipped');
    const cmRuns = await runsOf(CM_PART_FLOW);
    check(
      'the low seeded part was written to Mobility Work',
      cmRuns.some((r) => r.outcome === 'done'),
    );
    check(
      'the non-stock part was skipped',
      cmRuns.some((r) => r.message.includes('non-stock part(s) skipped')),
    );

    step('a backlog: 1,000 Click Maint parts fall below their minimum at once');
    const refs = Array.from({ length: 1000 }, (_, i) => `CMB-${String(i).padStart(4, '0')}`);
    const backlog = await fetch(`${mwSim.url}/partners/v1/spare-parts`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'api-key': (secrets['millwright/mobility-work'] as unknown as { apiKey: string }).apiKey,
      },
      body: JSON.stringify(refs.map((ref) => mwSimNewSparePart(ref, `Backlog part ${ref}`))),
    });
    check('backlog parts created in Mobility Work (202)', backlog.status === 202, `HTTP ${backlog.status}`);
    await mwSim.settle();
    cm.addParts(
      1,
      refs.map((ref) => ({ name: `Backlog part ${ref}`, number: ref, on_hand_qty: 2, min_qty: 5 })),
    );
    const before = cm.stats();
    let first = 0;
    let last = 0;
    let seen = before.requests;
    const watch = setInterval(() => {
      const n = cm.stats().requests;
      if (n > seen) {
        if (first === 0) first = performance.now();
        last = performance.now();
        seen = n;
      }
    }, 5);
    sandbox.clock.advance(5 * MINUTE);
    await sandbox.tick();
    await sandbox.settle({ timeoutMs: 300_000 });
    clearInterval(watch);
    const after = cm.stats();
    const requests = after.requests - before.requests;
    const seconds = (last - first) / 1000;
    const allowed = after.rateLimit.limit / after.rateLimit.windowSeconds;
    const share = requests > 1 && seconds > 0 ? (requests - 1) / seconds / allowed : 0;
    const synced = refs.filter(
      (ref) => mwSim.spareParts().find((p) => p.externalReference === ref)?.stock === 2,
    ).length;
    out(
      `    ${requests} Click Maint requests in ${seconds.toFixed(1)} s = ${((requests - 1) / seconds).toFixed(1)}/s; allowed ${allowed}/s (300 per 5 min, time compressed ${300 / CLICK_MAINT_WINDOW_SECONDS}x): ${(share * 100).toFixed(0)}% of the allowed rate; ${after.rateLimited - before.rateLimited} x 429; at most ${after.maxAcceptedInWindow} requests in one window`,
    );
    check('all 1,000 parts reached Mobility Work', synced === 1000, `${synced} of 1000`);
    check('never more than the limit in any window', after.maxAcceptedInWindow <= after.rateLimit.limit);
    check('the backlog drained at >= 80% of the allowed rate', share >= 0.8, `${(share * 100).toFixed(0)}%`);
    check(
      '429s stayed rare (<= 2)',
      after.rateLimited - before.rateLimited <= 2,
      `${after.rateLimited - before.rateLimited}`,
    );

    section(`${DM_REQUEST_FLOW} and ${DM_RESULT_FLOW}`);
    const session = await post(`${upSim.baseUrl}/auth`, {
      email: upkeepSecret.email,
      password: upkeepSecret.password,
    });
    const token = ((await session.json()) as { result: { sessionToken: string } }).result.sessionToken;
    const createWorkOrder = async (body: Record<string, unknown>) =>
      (
        (await (await post(`${upSim.baseUrl}/work-orders/`, body, { 'session-token': token })).json()) as {
          result: { id: string };
        }
      ).result.id;
    const dmFor = (woId: string) => dm.workOrders().filter((w) => w.name === `upkeep-${woId}`);
    const woStatus = (id: string) => upSim.workOrders().find((w) => w.id === id)?.status;

    step('an UpKeep work order in the "Photo validation" category is created, then edited');
    const woPass = await createWorkOrder({
      title: 'Replace hydraulic filter on Mill 01',
      category: 'Photo validation',
    });
    await sandbox.settle();
    await fetch(`${upSim.baseUrl}/work-orders/${woPass}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'session-token': token },
      body: JSON.stringify({ description: 'Take a photo of the nameplate too' }),
    });
    await sandbox.settle();
    check(
      'exactly one Deepomatic work order, named after the UpKeep id',
      dmFor(woPass).length === 1,
      `${dmFor(woPass).length}`,
    );
    const other = await createWorkOrder({ title: 'Lubricate conveyor', category: 'Lubrication' });
    await sandbox.settle();
    check('a work order without the category or tag gets none', dmFor(other).length === 0);

    step('Deepomatic creates the work order but the answer never arrives (tag #photo-check)');
    await post(`${dm.url}/_sandbox/faults`, {
      match: 'POST /v0.2/work-orders',
      timeoutAfterWrite: true,
      delayMs: 3000,
    });
    const woFail = await createWorkOrder({ title: 'Repaint guard rail #photo-check' });
    await sandbox.settle();
    await fetch(`${upSim.baseUrl}/work-orders/${woFail}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'session-token': token },
      body: JSON.stringify({ priority: 3 }),
    });
    await sandbox.settle();
    check(
      'still one Deepomatic work order for it (not resent)',
      dmFor(woFail).length === 1,
      `${dmFor(woFail).length}`,
    );

    step('the field engineer takes the photos: progress advances; one validation passes, one fails');
    await advanceAndRun(5);
    check(
      'in progress: the UpKeep work order is not touched yet',
      woStatus(woPass) === 'open',
      woStatus(woPass),
    );
    dm.setOutcome(`upkeep-${woPass}`, 'passed', { review: true });
    await advanceAndRun(5);
    check(
      'validation passed -> UpKeep work order complete',
      woStatus(woPass) === 'complete',
      woStatus(woPass),
    );
    const note = upSim.workOrderMessages(woPass).at(-1)?.text ?? '';
    check(
      'with a note that summarises the result',
      note.includes('PASSED') && note.includes('equipment_after_intervention'),
      note,
    );
    const manual = await createWorkOrder({ title: 'Check belt tension', category: 'Photo validation' });
    await sandbox.settle();
    dm.setOutcome(`upkeep-${manual}`, 'failed', { review: false });
    await advanceAndRun(5);
    check('validation failed -> UpKeep work order onHold', woStatus(manual) === 'onHold', woStatus(manual));
    const followed = await sandbox.state.listMembers('deepomatic-open-work-orders');
    check(
      'concluded Deepomatic work orders are no longer followed',
      !followed.some((m) => dmFor(woPass).some((w) => w.id === m.id)),
    );
  }

  /** The four Mobility Work flows (issue 3): tasks, task status, stock both ways, and their loop guard. */
  async function mobilityWorkScenarios(): Promise<void> {
    const mwSim = sandbox.simulators['mobility-work'];
    const upSim = sandbox.simulators.upkeep;
    if (!mwSim || !upSim) throw new Error('the Mobility Work and UpKeep simulators are required');
    const runsOf = (flowId: string) => sandbox.state.listRuns(flowId, 2000);
    const tasksOf = (machineId: string) => mwSim.tasks().filter((t) => t.metadata.machineId === machineId);
    const mwPart = (ref: string) => mwSim.spareParts().find((p) => p.externalReference === ref);
    const mwCalls = (path: string) => mwSim.requests.filter((r) => r.endsWith(path)).length;
    const posFor = (partId: string) =>
      upSim.purchaseOrders().filter((po) => po.parts.some((line) => line.id === partId));

    section(TASK_FLOW);
    step('MACHINE 1 (mapped to an UpKeep asset and to Mobility Work equipment EQ-MILL-01) had two downtimes');
    check(
      'one Mobility Work task per downtime episode (2 episodes -> 2 tasks), despite the duplicate deliveries',
      tasksOf(MACHINE_1).length === 2,
      `found ${tasksOf(MACHINE_1).length}`,
    );
    const learned = (await runsOf(TASK_FLOW)).filter((r) =>
      r.message.startsWith('learned Mobility Work task'),
    );
    check('each task id was learned from the TaskWasScheduled webhook (via metadata)', learned.length >= 2);
    check(
      'MACHINE 3 (Mobility Work only) got its task too',
      tasksOf(MACHINE_3).length === 1,
      `found ${tasksOf(MACHINE_3).length}`,
    );

    step('Mobility Work creates the task but the answer never arrives (MACHINE 3 down again)');
    await machine(MACHINE_3, 'up');
    await advanceAndRun(10);
    await post(`${mwSim.url}/_sandbox/faults`, {
      match: 'POST /partners/v1/tasks',
      timeoutAfterWrite: true,
      delayMs: 3000,
    });
    await machine(MACHINE_3, 'down');
    await advanceAndRun(20);
    check('no second task was posted (2 episodes -> 2 tasks)', tasksOf(MACHINE_3).length === 2);
    const unanswered = (await runsOf(TASK_FLOW)).some(
      (r) => r.outcome === 'waiting' && r.message.includes('went unanswered'),
    );
    check(
      "the run log says the create went unanswered and waited for Mobility Work's TaskWasScheduled webhook instead of posting again",
      unanswered,
    );
    const second = tasksOf(MACHINE_3)[1];
    const known = second ? (await runsOf(TASK_FLOW)).some((r) => r.effects?.taskId === second.id) : false;
    check('its id was still learned from the webhook', known);

    section(STATUS_FLOW);
    step("a planner starts, then completes, the Mobility Work task of MACHINE 1's first downtime");
    const task = tasksOf(MACHINE_1)[0];
    const key = String(task?.metadata.millwrightKey ?? '');
    const woId = String(
      (await sandbox.state.getMapping('downtime-episode-upkeep-work-order', key)) ?? 'no work order',
    );
    const woStatus = () => upSim.workOrders().find((w) => w.id === woId)?.status;
    await mobilityWorkTask('start', 'millwrightKey', key);
    await sandbox.settle();
    check('the UpKeep work order is inProgress', woStatus() === 'inProgress', woStatus());
    await mobilityWorkTask('complete', 'millwrightKey', key);
    await sandbox.settle();
    check('the UpKeep work order is complete', woStatus() === 'complete', woStatus());
    const notes = upSim.workOrderMessages(woId);
    check('each change left a note on the work order', notes.length === 2, `${notes.length} notes`);
    const completed = sandbox.enqueued.find(
      (e) => e.event.type === 'mobility-work.TaskWasCompleted' && e.queueUrl.includes(STATUS_FLOW),
    );
    if (completed) await sandbox.send(STATUS_FLOW, [completed.event]);
    await sandbox.settle();
    check('a redelivered completion changes nothing', upSim.workOrderMessages(woId).length === 2);

    section(`${PART_FLOW} (and the loop back through ${ALERT_FLOW})`);
    step('a technician takes 9 x Bearing 6204 in UpKeep (12 -> 3; minimum 4)');
    const stockCalls = mwCalls('/partners/v1/spare-parts/movements/bulk');
    await upkeepPart(PARTS.bearing, 'consume', 9);
    sandbox.clock.advance(5 * MINUTE);
    // Wall time from the poll that sees the change to Mobility Work receiving the stock write.
    const t0 = performance.now();
    let pollToWriteMs = Number.NaN;
    const watch = setInterval(() => {
      if (Number.isNaN(pollToWriteMs) && mwCalls('/partners/v1/spare-parts/movements/bulk') > stockCalls)
        pollToWriteMs = performance.now() - t0;
    }, 2);
    await sandbox.tick();
    await sandbox.settle();
    clearInterval(watch);
    check(
      'Mobility Work stock is set to 3',
      mwPart(PARTS.bearing)?.stock === 3,
      `${mwPart(PARTS.bearing)?.stock}`,
    );
    check('its minimum is aligned to 4', mwPart(PARTS.bearing)?.minimumStock === 4);
    check('in one stock write', mwCalls('/partners/v1/spare-parts/movements/bulk') === stockCalls + 1);
    out(
      `    UpKeep change seen by the poller -> Mobility Work stock write: ${pollToWriteMs.toFixed(0)} ms (plus up to one poll interval, ${5} min by default)`,
    );
    const echoes = (await runsOf(ALERT_FLOW)).filter((r) => r.outcome === 'echo');
    check(
      "Mobility Work's alert about our own write came back and was recognised (echo)",
      echoes.length >= 1,
    );
    check('so no purchase order was made for it', posFor(PARTS.bearing).length === 0);

    step('one more taken (3 -> 2): the same low episode, nothing written');
    await upkeepPart(PARTS.bearing, 'consume', 1);
    await advanceAndRun(5);
    check('no second write', mwCalls('/partners/v1/spare-parts/movements/bulk') === stockCalls + 1);

    step('restocked in UpKeep (+20 -> 22): the episode re-arms and Mobility Work gets 22');
    await upkeepPart(PARTS.bearing, 'restock', 20);
    await advanceAndRun(5);
    check(
      'Mobility Work stock is 22',
      mwPart(PARTS.bearing)?.stock === 22,
      `${mwPart(PARTS.bearing)?.stock}`,
    );

    section(ALERT_FLOW);
    step('a planner uses 2 x V-belt A42 in Mobility Work (3 -> 1; minimum 2)');
    await mobilityWorkPart(PARTS.belt, 'consume', 2);
    await sandbox.settle();
    let pos = posFor(PARTS.belt);
    check(
      'one UpKeep purchase order (awaiting approval) for the part',
      pos.length === 1,
      `found ${pos.length}`,
    );
    check('it orders the part', (pos[0]?.parts[0]?.quantity ?? 0) >= 1 && pos[0]?.status === 'awaiting');

    step('the belt runs out (1 -> 0): the same low episode');
    await mobilityWorkPart(PARTS.belt, 'consume', 1);
    await sandbox.settle();
    check('still one purchase order', posFor(PARTS.belt).length === 1);

    step('Mobility Work sends a delivery again (same _idempotencyKey), and forged ones arrive');
    const alert = sandbox.enqueued.find(
      (e) => e.event.type === 'mobility-work.SparePartStockWasUnderMinThreshold',
    );
    const mwSecret = (secrets['millwright/mobility-work'] as unknown as { webhookSecrets: string[] })
      .webhookSecrets[0] as string;
    const deliver = (body: string, t: number, nonce: string, secret = mwSecret) =>
      fetch(`${sandbox.ingressUrl}/webhooks/mobility-work`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-mw-signature': signMobilityWorkWebhook({
            secret,
            scheme: 't.nonce.body',
            t,
            nonce,
            rawBody: body,
          }),
        },
        body,
      });
    const body = JSON.stringify(alert?.event.data ?? {});
    const now = Math.floor(clock.now().getTime() / 1000);
    const beforeRetry = sandbox.enqueued.length;
    const again = await deliver(body, now, 'a'.repeat(40));
    check('the redelivery is acknowledged with 200', again.status === 200, `HTTP ${again.status}`);
    check('and not enqueued again', sandbox.enqueued.length === beforeRetry);
    const exact = await deliver(body, now, 'a'.repeat(40));
    check(
      'the exact same delivery again (our 200 was lost) -> 200, nothing enqueued',
      exact.status === 200 && sandbox.enqueued.length === beforeRetry,
      `HTTP ${exact.status}`,
    );
    const replayed = JSON.stringify({ ...(alert?.event.data ?? {}), _idempotencyKey: 'forged-key' });
    const replay = await deliver(replayed, now, 'a'.repeat(40));
    check('another body signed with a used nonce -> 401', replay.status === 401, `HTTP ${replay.status}`);
    const stale = await deliver(body, now - 3600, 'b'.repeat(40));
    check('a timestamp an hour old -> 401', stale.status === 401, `HTTP ${stale.status}`);
    const forged = await deliver(body, now, 'c'.repeat(40), 'not-the-secret');
    check('a wrong signing key -> 401', forged.status === 401, `HTTP ${forged.status}`);

    step('restocked in Mobility Work (+10 -> 10), then used again down to 1: a new low episode');
    // Mobility Work stamps its events to the second: the flow orders a part's events by that time.
    sandbox.clock.advance(MINUTE);
    await mobilityWorkPart(PARTS.belt, 'restock', 10);
    await sandbox.settle();
    sandbox.clock.advance(MINUTE);
    await mobilityWorkPart(PARTS.belt, 'consume', 9);
    await sandbox.settle();
    pos = posFor(PARTS.belt);
    check('a second purchase order, for the second episode', pos.length === 2, `found ${pos.length}`);

    section(`${PART_FLOW}: 1,000 parts change in one poll`);
    step('1,000 parts exist in both systems; all of them drop below their minimum in UpKeep');
    const refs = Array.from({ length: 1000 }, (_, i) => `PartBulk${String(i).padStart(4, '0')}`);
    const created = await fetch(`${mwSim.url}/partners/v1/spare-parts`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'api-key': (secrets['millwright/mobility-work'] as unknown as { apiKey: string }).apiKey,
      },
      body: JSON.stringify(refs.map((ref) => mwSimNewSparePart(ref, `Bulk part ${ref}`))),
    });
    await mwSim.settle();
    await post(`${upkeep}/_sandbox/parts`, {
      parts: refs.map((id) => ({ id, name: `Bulk part ${id}`, quantity: 1, minimumQuantity: 5 })),
    });
    const callsBefore = mwSim.requests.length;
    const t1 = performance.now();
    await advanceAndRun(5);
    const bulkMs = performance.now() - t1;
    const calls = mwSim.requests.slice(callsBefore);
    check('spare parts created in Mobility Work (202)', created.status === 202, `HTTP ${created.status}`);
    check(
      'Mobility Work calls for 1,000 changed parts: 2 (1 minimum alignment + 1 stock write)',
      calls.length === 2,
      calls.join(', '),
    );
    const synced = refs.filter((ref) => mwPart(ref)?.stock === 1).length;
    check('all 1,000 have stock 1 in Mobility Work', synced === 1000, `${synced} of 1000`);
    out(
      `    1,000 parts: poll, sync and Mobility Work's echo webhooks processed in ${(bulkMs / 1000).toFixed(1)} s`,
    );
  }

  try {
    out('Millwright demo: every flow of config/default.json on the sandbox');
    out(`  ingress ${sandbox.ingressUrl}, MachineMetrics sim ${mm}, UpKeep sim ${upkeep}`);
    out(`  Mobility Work sim ${sandbox.simulators['mobility-work']?.url}`);
    await advanceAndRun(0);
    section(FLOW_ID);

    step('MACHINE 1 stops (uncategorized) and stays down for 20 minutes');
    await machine(MACHINE_1, 'down');
    await advanceAndRun(20);
    let wos = (await workOrders()).filter((w) => w.asset === 'AssetMill01');
    check('exactly one work order for the mapped asset', wos.length === 1, `found ${wos.length}`);
    const wo1 = wos[0];
    check('the title names the machine', wo1?.title.includes('MACHINE 1') ?? false, wo1?.title);
    check(
      'the description names reason, start time and duration',
      (wo1?.description ?? '').includes('Uncategorized') &&
        (wo1?.description ?? '').includes('2026-11-02T08:00'),
      wo1?.description ?? '',
    );
    check('the asset is recorded not-available', (await assetStatus('AssetMill01')) === 'not-available');

    step('the same downtime arrives again: a duplicate delivery and a Workflow webhook');
    const started = sandbox.enqueued.find((e) => e.event.type === 'machinemetrics.downtime.started');
    if (started) await sandbox.send(FLOW_ID, [started.event, started.event]);
    const hook = await post(
      `${sandbox.ingressUrl}/webhooks/machinemetrics`,
      {
        event: 'machine.status.changed',
        id: 'delivery-1',
        machineId: MACHINE_1,
        machineName: 'MACHINE 1',
        status: 'DOWN',
        timestamp: clock.now().toISOString(),
        downtimeStartedAt: '2026-11-02T08:00:00.000Z',
        durationMs: 20 * MINUTE,
      },
      { 'x-mm-webhook-secret': mmSecret.webhookSecret ?? '' },
    );
    check('the signed Workflow webhook is accepted (202)', hook.status === 202, `HTTP ${hook.status}`);
    await sandbox.drain();
    wos = (await workOrders()).filter((w) => w.asset === 'AssetMill01');
    check('still exactly one work order', wos.length === 1, `found ${wos.length}`);

    step('the operator categorises the reason as "Chipping Out"');
    await machine(MACHINE_1, 'categorize', { reasonId: '33' });
    await advanceAndRun(5);
    wos = (await workOrders()).filter((w) => w.asset === 'AssetMill01');
    check(
      'the work order is updated with the reason',
      wos[0]?.title.includes('Chipping Out') ?? false,
      wos[0]?.title,
    );

    step('MACHINE 1 runs again');
    await machine(MACHINE_1, 'up');
    await advanceAndRun(10);
    wos = (await workOrders()).filter((w) => w.asset === 'AssetMill01');
    check(
      'the work order records the end and total downtime',
      (wos[0]?.description ?? '').includes('Total downtime: 25 min'),
      wos[0]?.description ?? '',
    );
    check('the asset is available again', (await assetStatus('AssetMill01')) === 'available');
    const echoes = (await runs()).filter((r) => r.outcome === 'echo');
    check('our own work-order updates came back as webhooks and were not forwarded', echoes.length >= 1);

    step('UpKeep answers 503 once, then succeeds (MACHINE 2 down)');
    await fault({ match: 'POST /api/v2/work-orders', status: 503, times: 1 });
    await machine(MACHINE_2, 'down');
    await advanceAndRun(20);
    wos = (await workOrders()).filter((w) => w.asset === 'AssetLathe2');
    check('exactly one work order after the retried 503', wos.length === 1, `found ${wos.length}`);

    step('UpKeep creates the work order but the answer never arrives (MACHINE 1 down again)');
    await fault({ match: 'POST /api/v2/work-orders', timeoutAfterWrite: true, delayMs: 3000, times: 1 });
    await machine(MACHINE_1, 'down');
    await advanceAndRun(20);
    wos = (await workOrders()).filter((w) => w.asset === 'AssetMill01');
    check(
      'one work order per episode (2 episodes -> 2 work orders)',
      wos.length === 2,
      `found ${wos.length}`,
    );
    const found = (await runs()).some((r) => r.message.includes('earlier attempt'));
    check('the retry found the work order made by the timed-out attempt', found);

    step('MACHINE 3 (no asset mapping) stops');
    await machine(MACHINE_3, 'down');
    await advanceAndRun(20);
    const skipped = (await runs()).filter(
      (r) => r.outcome === 'skipped' && r.message.includes('no UpKeep asset mapping'),
    );
    check('it is skipped with a run-log entry, not an error loop', skipped.length >= 1);
    check(
      'its events did not fail',
      !(await runs()).some((r) => r.outcome === 'failed' && r.message.includes(MACHINE_3)),
    );

    step('bad webhooks are rejected and enqueue nothing');
    const before = sandbox.enqueued.length;
    const badToken = await post(
      `${sandbox.ingressUrl}/webhooks/upkeep/wrong-token-0123456789abcdef0123456789`,
      {
        event: 'WORK_ORDER_UPDATED',
        data: { id: 'x' },
      },
    );
    check('wrong UpKeep URL token -> 401', badToken.status === 401, `HTTP ${badToken.status}`);
    const noSecret = await post(`${sandbox.ingressUrl}/webhooks/machinemetrics`, {
      event: 'machine.status.changed',
    });
    check(
      'MachineMetrics webhook without the secret -> 401',
      noSecret.status === 401,
      `HTTP ${noSecret.status}`,
    );
    const malformed = await fetch(`${sandbox.ingressUrl}/webhooks/upkeep/${upkeepSecret.webhookToken}`, {
      method: 'POST',
      body: '{"event": "WORK_ORDER_UPDATED", ',
    });
    check('malformed JSON -> 400', malformed.status === 400, `HTTP ${malformed.status}`);
    const huge = await fetch(`${sandbox.ingressUrl}/webhooks/upkeep/${upkeepSecret.webhookToken}`, {
      method: 'POST',
      body: JSON.stringify({ event: 'WORK_ORDER_UPDATED', data: { id: 'x', pad: 'x'.repeat(300_000) } }),
    });
    check('oversized body -> 413', huge.status === 413, `HTTP ${huge.status}`);
    check(
      'nothing was enqueued',
      sandbox.enqueued.length === before,
      `${sandbox.enqueued.length - before} enqueued`,
    );

    step('UpKeep answers 201 with a body missing the work order id (MACHINE 2 down again)');
    await machine(MACHINE_2, 'up');
    await advanceAndRun(10);
    await fault({
      match: 'POST /api/v2/work-orders',
      status: 201,
      body: { success: true, result: { title: 'no id here' } },
      times: 10,
    });
    await machine(MACHINE_2, 'down');
    await advanceAndRun(20);
    const dlq = flow ? await queueDepth(sandbox.sqs.client, flow.queues.dlqUrl) : { visible: 0, inFlight: 0 };
    check('the event retried and landed in the DLQ', dlq.visible === 1, `DLQ depth ${dlq.visible}`);
    const dead = (await runs()).find((r) => r.outcome === 'dead-lettered');
    check(
      'the run log names the unexpected field',
      dead?.message.includes('result.id') ?? false,
      dead?.message,
    );
    await clearFaults();

    await mobilityWorkScenarios();
    await clickMaintAndDeepomaticScenarios();
  } catch (error) {
    failed++;
    out(`  ✘ scenario aborted: ${error instanceof Error ? error.stack : String(error)}`);
  } finally {
    await sandbox.close();
  }
  out('');
  out(`${passed} passed, ${failed} failed`);
  return { passed, failed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo()
    .then((r) => process.exit(r.failed === 0 && r.passed > 0 ? 0 : 1))
    .catch((error: unknown) => {
      process.stderr.write(`demo failed: ${String(error)}\n0 passed, 1 failed\n`);
      process.exit(1);
    });
}
