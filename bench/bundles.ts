/**
 * `npm run bench`: bundle every Lambda entry the stack deploys (lib/entries.ts) with the same esbuild
 * settings as MillwrightFunction, then report each bundle's minified size and its init: the wall
 * time of a fresh `node` process that imports it (module init incl. handler construction), next to
 * a bare `node -e ''` measured in the same run, interleaved round by round so both share the
 * machine's noise. Init is the figure that matters; its target is a ratio to bare node because
 * absolute times vary several-fold with the machine and its load.
 *
 * Targets: init <= 2.5x bare node (ingress and workers; pollers report against the same bar).
 * Size: ingress <= 400 KB, worker/poller <= 500 KB. The SDK v3 clients are bundled since issue 14
 * (the runtime's own copy cost 2-3x more init than the tree-shaken parts we use): DynamoDB + the
 * document client + SQS + Secrets Manager add ~250 KB minified (smithy core, protocols, signer,
 * http handler); our code, zod, middy and Powertools ~100-170 KB. Size is a guard, not the goal:
 * a bundle that grows past it has likely pulled in something unused. The bench also checks the
 * metafile: no `@aws-sdk/*` left external, one copy of each package.
 * Prints figures; it does not fail on them (timings vary by machine). It fails only when a bundle
 * cannot be built. `--json` prints `BENCH_JSON {...}` as its last line.
 *
 *   npm run bench [-- config/site.json] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { loadDeployment } from '../functions/config/deployment.ts';
import { flows } from '../functions/flows/index.ts';
import { BUNDLE } from '../lib/constructs/millwright-function.ts';
import { type LambdaEntry, PROJECT_ROOT, writeEntries } from '../lib/entries.ts';
import { bundleAlias as alias, BUNDLE_FILE, bundleEntry, bundleFormat, loadStatement } from './esbuild.ts';

const SAMPLES = Number(process.env.MILLWRIGHT_BENCH_SAMPLES ?? 11);
const OUT_DIR = join(PROJECT_ROOT, '.build', 'bench');
const RATIO_TARGET = 2.5;
const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');

const TARGETS: Record<LambdaEntry['kind'], { kb: number; label: string }> = {
  ingress: { kb: 400, label: 'webhook ingress' },
  worker: { kb: 500, label: 'flow worker' },
  // No target of its own: a poller carries a flow module and the runtime, like a worker.
  poller: { kb: 500, label: 'poller (as a worker)' },
  // A poll group's poller carries each member flow's module (for its config and options).
  'shared-poller': { kb: 500, label: 'shared poller (as a worker)' },
};

/** Environment a function finds in Lambda (names and dummy credentials; nothing is contacted at init). */
const LAMBDA_ENV = {
  TABLE_NAME: 'millwright-bench-table',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/millwright-bench',
  // A shared poller's member queues.
  QUEUE_URL_0: 'https://sqs.us-east-1.amazonaws.com/000000000000/millwright-bench-0',
  QUEUE_URL_1: 'https://sqs.us-east-1.amazonaws.com/000000000000/millwright-bench-1',
  QUEUE_URL_2: 'https://sqs.us-east-1.amazonaws.com/000000000000/millwright-bench-2',
  QUEUE_URL_PREFIX: 'https://sqs.us-east-1.amazonaws.com/000000000000/',
  DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/millwright-bench-dlq',
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'millwright-bench',
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench-secret',
  AWS_SESSION_TOKEN: 'bench-token',
  // The SDK warns once on Node < 22 that it will soon need 22 (an Error, its stack and a write to
  // stderr: about 3 ms). Lambda runs Node 22, where it never warns, so the bench skips it too.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

async function bundle(entry: LambdaEntry): Promise<{ file: string; metafile: Metafile }> {
  const outfile = join(OUT_DIR, entry.id, BUNDLE_FILE);
  return { file: outfile, metafile: await bundleEntry(entry.entryPath, outfile) };
}

interface Timing {
  /** Wall time of the whole process, spawn to exit. */
  processMs: number;
  /** The import alone, measured inside the process. */
  importMs: number;
}

/** One fresh process: bare (`node -e ''`) or loading the bundle `module` (a path) as Lambda does. */
function run(module?: string): Timing {
  const load =
    module &&
    `const t = performance.now(); ${loadStatement(module)}; process.stdout.write(String(performance.now() - t));`;
  const argv =
    load === undefined
      ? ['-e', '']
      : module?.endsWith('.mjs')
        ? ['--input-type=module', '-e', load]
        : ['-e', load];
  const env = module === undefined ? { PATH: process.env.PATH } : { PATH: process.env.PATH, ...LAMBDA_ENV };
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, argv, {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const processMs = Number(process.hrtime.bigint() - start) / 1e6;
  const importMs = module === undefined ? 0 : Number(result.stdout);
  if (result.status !== 0 || !Number.isFinite(importMs)) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(0, 5).join(' | ');
    throw new Error(`init failed (exit ${result.status}): ${detail}`);
  }
  return { processMs, importMs };
}

const median = (values: number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Packages a bundle still imports at run time (the SDK, when the runtime's copy is used). */
const externalImports = (metafile: Metafile): string[] =>
  [
    ...new Set(
      Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
    ),
  ].filter((path) => !path.startsWith('node:'));

/** Packages bundled from more than one folder (two versions, or one package resolved twice). */
function duplicatePackages(metafile: Metafile): string[] {
  const folders = new Map<string, Set<string>>();
  for (const path of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(path);
    if (!match?.[1] || !match[2]) continue;
    const set = folders.get(match[2]) ?? new Set<string>();
    set.add(match[1]);
    folders.set(match[2], set);
  }
  return [...folders].filter(([, set]) => set.size > 1).map(([name]) => name);
}

/** The largest contributors to a bundle, grouped by package (or by our own top-level folder). */
function topInputs(metafile: Metafile, count: number): string {
  const byGroup = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
      const group =
        pkg ??
        path
          .replace(/^(\.\.\/)+/, '')
          .split('/')
          .slice(0, 3)
          .join('/');
      byGroup.set(group, (byGroup.get(group) ?? 0) + bytesInOutput);
    }
  }
  return [...byGroup]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([group, bytes]) => `${group} ${(bytes / 1024).toFixed(1)}`)
    .join(', ');
}

const pad = (text: string, width: number, right = false) =>
  right ? text.padStart(width) : text.padEnd(width);

interface Built {
  entry: LambdaEntry;
  file: string;
  kb: number;
  metafile: Metafile;
  samples: Timing[];
  error?: string;
}

async function main(): Promise<void> {
  const configPath = resolve(args.find((a) => !a.startsWith('--')) ?? 'config/default.json');
  const deployment = loadDeployment(configPath, flows);
  const entries = writeEntries(deployment);
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });

  const built: Built[] = [];
  let failed = false;
  for (const entry of entries) {
    try {
      const { file, metafile } = await bundle(entry);
      built.push({ entry, file, metafile, kb: statSync(file).size / 1024, samples: [] });
    } catch (error) {
      failed = true;
      const message =
        (error as { errors?: { text: string }[] }).errors?.map((e) => e.text).join('; ') ?? String(error);
      built.push({
        entry,
        file: '',
        kb: Number.NaN,
        metafile: { inputs: {}, outputs: {} },
        samples: [],
        error: message,
      });
    }
  }

  // The SDK floor (bench/sdk-floor.ts): the DynamoDB document client alone, bundled the same way.
  const floorFile = join(OUT_DIR, 'sdk-floor', BUNDLE_FILE);
  await bundleEntry(join(PROJECT_ROOT, 'bench', 'sdk-floor.ts'), floorFile);
  const floor: number[] = [];

  // Round-robin: one bare process, then one of each bundle, SAMPLES times, so noise hits all alike.
  const bare: number[] = [];
  for (let round = 0; round < SAMPLES; round++) {
    bare.push(run().processMs);
    floor.push(run(floorFile).processMs);
    for (const b of built) {
      if (b.error) continue;
      try {
        b.samples.push(run(b.file));
      } catch (error) {
        failed = true;
        b.error = String((error as Error).message);
      }
    }
  }
  const bareMs = median(bare);
  const floorMs = median(floor);

  console.log(
    `Millwright bundles: ${entries.length} functions from ${relative(PROJECT_ROOT, configPath)}; ` +
      `esbuild ${BUNDLE.target} ${bundleFormat === 'cjs' ? 'CommonJS (require)' : 'ESM (import)'} minified, external ${BUNDLE.external.join(' ') || 'none'}` +
      `${alias ? `, alias ${Object.keys(alias).join(' ')}` : ''}; ` +
      `init = median of ${SAMPLES} fresh \`node\` ${process.version} processes (Lambda runs Node 22 on arm64), ` +
      `interleaved with bare \`node -e ''\`: ${bareMs.toFixed(1)} ms.\n`,
  );
  const rows: string[][] = [];
  const notes: string[] = [];
  const figures: Record<LambdaEntry['kind'], Built[]> = {
    ingress: [],
    worker: [],
    poller: [],
    'shared-poller': [],
  };
  for (const b of built) {
    const target = TARGETS[b.entry.kind];
    if (b.error) {
      rows.push([
        b.entry.id,
        b.entry.kind,
        '-',
        `<= ${target.kb}`,
        '-',
        '-',
        '-',
        `<= ${RATIO_TARGET}x`,
        'FAILED',
      ]);
      notes.push(`  ${b.entry.id}: FAILED: ${b.error}`);
      continue;
    }
    figures[b.entry.kind].push(b);
    const processMs = median(b.samples.map((s) => s.processMs));
    const importMs = median(b.samples.map((s) => s.importMs));
    const ratio = processMs / bareMs;
    const external = externalImports(b.metafile);
    const duplicates = duplicatePackages(b.metafile);
    rows.push([
      b.entry.id,
      b.entry.kind,
      b.kb.toFixed(1),
      `<= ${target.kb}`,
      importMs.toFixed(1),
      processMs.toFixed(1),
      `${ratio.toFixed(2)}x`,
      `<= ${RATIO_TARGET}x`,
      b.kb <= target.kb && ratio <= RATIO_TARGET ? 'within' : 'OVER',
    ]);
    notes.push(
      `  ${b.entry.id}: process samples ${b.samples.map((s) => s.processMs.toFixed(0)).join('/')} ms; ` +
        `external: ${external.join(' ') || 'none'}; duplicate packages: ${duplicates.join(' ') || 'none'}; ` +
        `largest: ${topInputs(b.metafile, 5)} (KB)`,
    );
  }

  const header = [
    'function',
    'kind',
    'KB (min)',
    'target KB',
    'import ms',
    'init ms',
    'x bare',
    'target',
    'vs target',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i] ?? 0, i >= 2 && i <= 7)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nbare node -e '': ${bareMs.toFixed(1)} ms (samples ${bare.map((s) => s.toFixed(0)).join('/')}). ` +
      `init ms = whole process importing the bundle; import ms = the import alone, inside it.`,
  );
  console.log(
    `SDK floor (bench/sdk-floor.ts: the DynamoDB document client alone, nothing of ours): ` +
      `${floorMs.toFixed(1)} ms = ${(floorMs / bareMs).toFixed(2)}x bare node (samples ${floor.map((s) => s.toFixed(0)).join('/')}).`,
  );
  console.log(
    `Targets: init <= ${RATIO_TARGET}x bare node; ${Object.values(TARGETS)
      .map((t) => `${t.label} <= ${t.kb} KB`)
      .join('; ')}.`,
  );
  console.log(notes.join('\n'));

  if (JSON_OUT) {
    const maxOf = (list: Built[], pick: (b: Built) => number) =>
      list.length ? Math.max(...list.map(pick)) : null;
    const initOf = (b: Built) => median(b.samples.map((s) => s.processMs));
    const importOf = (b: Built) => median(b.samples.map((s) => s.importMs));
    const round1 = (n: number | null) => (n === null || !Number.isFinite(n) ? null : Math.round(n * 10) / 10);
    const ratio = (ms: number | null) => (ms === null ? null : Math.round((ms / bareMs) * 100) / 100);
    const ingressInitMs = maxOf(figures.ingress, initOf);
    const workerInitMs = maxOf(figures.worker, initOf);
    const json = {
      bareNodeMs: round1(bareMs),
      sdkFloorInitMs: round1(floorMs),
      sdkFloorRatio: ratio(floorMs),
      ingressInitMs: round1(ingressInitMs),
      workerInitMs: round1(workerInitMs),
      pollerInitMs: round1(maxOf([...figures.poller, ...figures['shared-poller']], initOf)),
      ingressRatio: ratio(ingressInitMs),
      workerRatio: ratio(workerInitMs),
      ingressImportMs: round1(maxOf(figures.ingress, importOf)),
      workerImportMs: round1(maxOf(figures.worker, importOf)),
      ingressKb: round1(maxOf(figures.ingress, (b) => b.kb)),
      workerKb: round1(maxOf(figures.worker, (b) => b.kb)),
      pollerKb: round1(maxOf(figures.poller, (b) => b.kb)),
      externalSdkImports: Math.max(0, ...built.map((b) => externalImports(b.metafile).length)),
      duplicatePackages: Math.max(0, ...built.map((b) => duplicatePackages(b.metafile).length)),
      failed: built.filter((b) => b.error).length,
    };
    console.log(`BENCH_JSON ${JSON.stringify(json)}`);
  }
  if (failed) process.exitCode = 1;
}

await main();
