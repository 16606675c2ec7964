/**
 * `npm run bench:chaos`: the chaos benchmark (issue 13). Runs the real sandbox in this process with
 * N events (default 10,000) across the flows while vendors fail, an UpKeep outage lasts 30
 * simulated minutes and workers crash between effect and ack, then prints what the simulators saw:
 * events sent, effects expected and observed, lost, duplicated, the DLQ (deliberate poison or not),
 * parked, and the drain time after the outage. `--hostile` runs the hostile-webhook run instead
 * (N requests per webhook route, default 10,000). Exits 1 when anything was lost, duplicated,
 * dead-lettered that was not poison, or (hostile) answered 5xx, enqueued or grew the heap.
 *
 *   npm run bench:chaos -- [--events N] [--seed S] [--scale-ms MS] [--concurrency C]
 *   npm run bench:chaos -- --hostile [--requests N]
 */
import { parseArgs } from 'node:util';
import { printChaos, printHostile } from './chaos/report.ts';
import { runChaos } from './chaos/run.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    'scale-ms': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    hostile: { type: 'boolean', default: false },
    requests: { type: 'string', default: '10000' },
  },
});

const out = (line: string) => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  if (values.hostile) {
    const { runHostile } = await import('./chaos/hostile.ts');
    const figures = await runHostile({ requests: Number(values.requests), progress });
    printHostile(figures, out);
    return figures.failed ? 1 : 0;
  }
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  progress(`chaos: seed ${seed} (repeat with --seed ${seed})`);
  const figures = await runChaos({
    events: Number(values.events),
    seed,
    scaleMs: Number(values['scale-ms']),
    workerConcurrency: Number(values.concurrency),
    progress,
  });
  printChaos(figures, out);
  return figures.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench:chaos failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
