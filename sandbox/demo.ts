/**
 * `npm run demo`: a scripted scenario on the sandbox (simulated vendors, a manual clock so minutes
 * pass instantly, random ports, in-memory state). It prints what happens and ends with the line
 * `N passed, N failed`; the exit code is non-zero if any check failed.
 */
import { readFileSync } from 'node:fs';
import { FLOW_ID } from '../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { manualClock } from './clock.ts';
import { MACHINES, postJson, sandboxControl } from './control.ts';
import { consoleLog } from './log.ts';
import { startSandbox } from './runtime.ts';
import { queueDepth } from './sqs.ts';

const { one: MACHINE_1, two: MACHINE_2, three: MACHINE_3 } = MACHINES;
const MINUTE = 60_000;

export interface DemoResult {
  passed: number;
  failed: number;
}

export async function runDemo(options: { quiet?: boolean } = {}): Promise<DemoResult> {
  const out = (line: string) => {
    if (!options.quiet) process.stdout.write(`${line}\n`);
  };
  const secrets = JSON.parse(readFileSync('sandbox/secrets.template.json', 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  const clock = manualClock('2026-11-02T08:00:00.000Z');
  const sandbox = await startSandbox({
    config: 'config/default.json',
    secrets,
    clock,
    basePort: 0,
    visibilityTimeoutSeconds: 1,
    httpTimeoutMs: 1000,
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
  } = sandboxControl(sandbox);
  const workOrders = async () => [
    ...(await workOrdersFor('AssetMill01')),
    ...(await workOrdersFor('AssetLathe2')),
  ];
  const runs = () => sandbox.state.listRuns(FLOW_ID, 200);
  const flow = sandbox.flows.get(FLOW_ID);
  const mmSecret = secrets['millwright/machinemetrics'] ?? {};
  const upkeepSecret = secrets['millwright/upkeep'] ?? {};

  try {
    out(`Millwright demo: ${FLOW_ID}`);
    out(`  ingress ${sandbox.ingressUrl}, MachineMetrics sim ${mm}, UpKeep sim ${upkeep}`);
    await advanceAndRun(0);

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
