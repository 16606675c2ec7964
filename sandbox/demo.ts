/**
 * `npm run demo`: a scripted scenario on the sandbox (simulated vendors, a manual clock so minutes
 * pass instantly, random ports, in-memory state). It prints what happens and ends with the line
 * `N passed, N failed`; the exit code is non-zero if any check failed.
 */
import { manualClock } from './clock.ts';
import { badWebhooks } from './demo/bad-webhooks.ts';
import { CLICK_MAINT_WINDOW_SECONDS, clickMaint } from './demo/click-maint.ts';
import { createDemoContext, type DemoContext, type DemoResult, type DemoSecrets } from './demo/context.ts';
import { deepomatic } from './demo/deepomatic.ts';
import { downtimeToMobilityWorkTask } from './demo/downtime-mobility-work-task.ts';
import { downtimeToUpkeep } from './demo/downtime-upkeep.ts';
import { upkeepDeadLetter, upkeepFaults } from './demo/downtime-upkeep-faults.ts';
import { operatorCli } from './demo/operator.ts';
import { stockAlert } from './demo/stock-alert.ts';
import { stockBulk, stockUpkeepToMobilityWork } from './demo/stock-upkeep-to-mobility-work.ts';
import { taskStatus } from './demo/task-status.ts';
import { consoleLog } from './log.ts';
import { type Sandbox, startSandbox } from './runtime.ts';
import { sandboxSecrets } from './secrets.ts';

export type { DemoResult } from './demo/context.ts';

/** The story, in order: later scenes build on what earlier ones left (episodes, parts, tasks). */
const SCENES: readonly ((ctx: DemoContext) => Promise<void>)[] = [
  downtimeToUpkeep,
  upkeepFaults,
  badWebhooks,
  upkeepDeadLetter,
  downtimeToMobilityWorkTask,
  taskStatus,
  stockUpkeepToMobilityWork,
  stockAlert,
  stockBulk,
  clickMaint,
  deepomatic,
  operatorCli,
];

function startDemoSandbox(secrets: DemoSecrets, out: (line: string) => void) {
  return startSandbox({
    config: 'config/default.json',
    secrets,
    clock: manualClock('2026-11-02T08:00:00.000Z'),
    basePort: 0,
    // Longer than any invocation of the demo (a vendor answer that never comes costs a 1 s timeout
    // plus the lookups after it), as AWS wants of a Lambda's queue: a failed event is then delayed on
    // the delivery its worker still holds.
    visibilityTimeoutSeconds: 10,
    httpTimeoutMs: 1000,
    // Click Maint's 300 requests per 5 minutes, compressed 30x to 300 per 10 seconds (simulator and limiter).
    simulatorOptions: { 'click-maint': { windowSeconds: CLICK_MAINT_WINDOW_SECONDS } },
    // Worker retries compressed too: 1 s delays, a transient failure dead-lettered once 3 s have
    // passed since its first delivery (its retry horizon).
    retry: { baseDelaySeconds: 1, maxDelaySeconds: 1, horizonSeconds: 3, waitBudgetSeconds: 30 },
    log: consoleLog({ level: 'warn', prefix: 'sandbox', write: (l) => out(`    ${l}`) }),
  });
}

function banner(ctx: DemoContext, sandbox: Sandbox): void {
  ctx.out('Millwright demo: every flow of config/default.json on the sandbox');
  ctx.out(
    `  ingress ${sandbox.ingressUrl}, MachineMetrics sim ${sandbox.simulators.machinemetrics?.url ?? ''}, UpKeep sim ${sandbox.simulators.upkeep?.url ?? ''}`,
  );
  ctx.out(`  Mobility Work sim ${sandbox.simulators['mobility-work']?.url}`);
}

export async function runDemo(options: { quiet?: boolean } = {}): Promise<DemoResult> {
  const out = (line: string) => {
    if (!options.quiet) process.stdout.write(`${line}\n`);
  };
  const secrets = sandboxSecrets() as DemoSecrets;
  const sandbox = await startDemoSandbox(secrets, out);
  const ctx = createDemoContext({ sandbox, clock: sandbox.clock, secrets, out });
  try {
    banner(ctx, sandbox);
    await ctx.control.advance(0);
    for (const scene of SCENES) await scene(ctx);
  } catch (error) {
    ctx.result.failed++;
    out(`  ✘ scenario aborted: ${error instanceof Error ? error.stack : String(error)}`);
  } finally {
    await sandbox.close();
  }
  out('');
  out(`${ctx.result.passed} passed, ${ctx.result.failed} failed`);
  return ctx.result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo()
    .then((r) => process.exit(r.failed === 0 && r.passed > 0 ? 0 : 1))
    .catch((error: unknown) => {
      process.stderr.write(`demo failed: ${String(error)}\n0 passed, 1 failed\n`);
      process.exit(1);
    });
}
