/**
 * `npm run bench:operator`: how `millwright runs --subject` and `millwright status` scale with the
 * run log. Starts the sandbox in this process (in memory), fills the run log with N entries
 * (default 100,000: 9 flows, 2,000 subjects, spread over the 30-day retention, 1 in 20 with an
 * effect id, 1 in 50 an error), then times each command's operator call (median of 5) and prints
 * the DynamoDB requests and read units it cost. The engine is dynalite on this machine: the times
 * are its, the request and read-unit counts are what DynamoDB would bill.
 */
import type { RunLogEntry } from '../functions/core/state.ts';
import { runs } from '../operator/runs.ts';
import { sandboxTarget } from '../operator/sandbox-target.ts';
import { status } from '../operator/status.ts';
import { startSandbox } from '../sandbox/runtime.ts';
import { sandboxSecrets } from '../sandbox/secrets.ts';

const N = Number(process.env.MILLWRIGHT_BENCH_ENTRIES ?? 100_000);
const SUBJECTS = 2_000;
const OUTCOMES = ['done', 'done', 'done', 'skipped', 'duplicate', 'echo', 'stale'];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  const sandbox = await startSandbox({ secrets: sandboxSecrets(), basePort: 0, log: quiet });
  try {
    const flows = [...sandbox.flows.keys()];
    const now = Date.now();
    const span = 30 * 86_400_000;
    const started = Date.now();
    let written = 0;
    const entry = (i: number): RunLogEntry => ({
      flowId: flows[i % flows.length] as string,
      eventId: `bench:${i}`,
      eventType: 'bench.event',
      outcome: i % 50 === 0 ? 'failed' : (OUTCOMES[i % OUTCOMES.length] as string),
      message: `bench entry ${i}: a message of a typical length for a run-log entry about a machine`,
      at: new Date(now - Math.floor((i / N) * span)).toISOString(),
      subject: `machine-${i % SUBJECTS}`,
      ...(i % 20 === 0 ? { effects: { workOrderId: `wo-${i}` } } : {}),
    });
    const CONCURRENCY = 16;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        for (let i = worker; i < N; i += CONCURRENCY) {
          await sandbox.state.appendRun(entry(i));
          written++;
          if (written % 10_000 === 0) process.stderr.write(`run log: ${written}/${N} entries written\n`);
        }
      }),
    );
    process.stdout.write(
      `Run log filled: ${N} entries (${flows.length} flows, ${SUBJECTS} subjects, 30 days) in ${((Date.now() - started) / 1000).toFixed(0)} s\n\n`,
    );

    const target = sandboxTarget(sandbox, 'bench');
    const time = async <T>(what: string, run: () => Promise<T>, cost: (r: T) => string) => {
      const ms: number[] = [];
      let last: T | undefined;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        last = await run();
        ms.push(performance.now() - t0);
      }
      process.stdout.write(
        `${what.padEnd(44)} median ${median(ms).toFixed(1).padStart(7)} ms  ${cost(last as T)}\n`,
      );
    };
    await time(
      'runs --subject machine-42 (all of it)',
      () => runs(target, { subject: 'machine-42', limit: 100 }),
      (r) => `${r.entries.length} entries, ${r.cost.requests} Query, ${r.cost.readUnits} read units`,
    );
    await time(
      'runs --subject wo-4000 (a work order id)',
      () => runs(target, { subject: 'wo-4000', limit: 100 }),
      (r) => `${r.entries.length} entries, ${r.cost.requests} Query, ${r.cost.readUnits} read units`,
    );
    await time(
      'runs --since 1h (all flows)',
      () => runs(target, { since: new Date(now - 3_600_000), limit: 50 }),
      (r) => `${r.entries.length} entries, ${r.cost.requests} Query, ${r.cost.readUnits} read units`,
    );
    await time(
      'status',
      () => status(target),
      (r) =>
        `${r.flows.length} flows, ${r.cost.dynamodbRequests} DynamoDB requests (${r.cost.readUnits} read units in its Queries), ${r.cost.sqsRequests} SQS requests`,
    );
    target.close();
  } finally {
    await sandbox.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
