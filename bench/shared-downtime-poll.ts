/**
 * `tsx bench/shared-downtime-poll.ts [--windows 12] [--json]`: MachineMetrics report requests per
 * 5-minute window with the three downtime flows of config/default.json enabled, counted at the
 * simulator. The sandbox (startSandbox, manual clock, random ports) runs every poll of each tick;
 * two machines go down, stay down, and run again. With one shared poll the requests per window are
 * one poll's; with a poller per flow (the baseline), about three times as many.
 *
 * It drives only interfaces the baseline also has (startSandbox, the simulator's request log), so the
 * same file runs in an older checkout.
 */
import { silentLog } from '../functions/core/log.ts';
import { manualClock } from '../sandbox/clock.ts';
import { MACHINES, sandboxControl } from '../sandbox/control.ts';
import { startSandbox } from '../sandbox/runtime.ts';
import { sandboxSecrets } from '../sandbox/secrets.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const WINDOWS = arg('windows', 12);
const JSON_OUT = process.argv.includes('--json');

async function main() {
  const sandbox = await startSandbox({
    config: 'config/default.json',
    secrets: sandboxSecrets() as never,
    clock: manualClock('2026-11-02T08:00:00.000Z'),
    basePort: 0,
    log: silentLog,
  });
  try {
    const c = sandboxControl(sandbox);
    const requests = () =>
      (sandbox.simulators.machinemetrics?.requests ?? []).filter((r) =>
        r.startsWith('POST /reports/downtime'),
      ).length;
    await c.advance(0);
    const downtimeFlows = sandbox.deployment.enabled.filter(({ flow }) =>
      flow.triggers.some((t) => t.kind === 'schedule' && t.source.id === 'machinemetrics.downtime'),
    ).length;
    const before = requests();
    const started = performance.now();
    let pollsPerTick = 0;
    for (let w = 0; w < WINDOWS; w++) {
      if (w === 1) {
        await c.machine(MACHINES.one, 'down');
        await c.machine(MACHINES.two, 'down');
      }
      if (w === WINDOWS - 4) {
        await c.machine(MACHINES.one, 'up');
        await c.machine(MACHINES.two, 'up');
      }
      const polls = await c.advance(5);
      pollsPerTick = Math.max(
        pollsPerTick,
        polls.filter((p) => p.source === 'machinemetrics.downtime').length,
      );
    }
    const total = requests() - before;
    const result = {
      downtimeFlows,
      windows: WINDOWS,
      downtimePollsPerTick: pollsPerTick,
      reportRequests: total,
      reportRequestsPerWindow: Number((total / WINDOWS).toFixed(2)),
      seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      ok: true,
    };
    console.log(
      `${downtimeFlows} downtime flows, ${WINDOWS} windows (2 machines down, then up): ${pollsPerTick} downtime poll(s) per tick, ${total} report requests (${result.reportRequestsPerWindow} per window), ${result.seconds} s`,
    );
    if (JSON_OUT) console.log(`BENCH_JSON ${JSON.stringify(result)}`);
  } finally {
    await sandbox.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  if (JSON_OUT)
    console.log(`BENCH_JSON ${JSON.stringify({ windows: WINDOWS, ok: false, error: String(error) })}`);
  process.exitCode = 1;
});
