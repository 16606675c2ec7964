/**
 * `npm run bench`: bundle every Lambda entry the stack deploys (lib/entries.ts) with the same esbuild
 * settings as MillwrightFunction, then report each bundle's minified size and its module init time
 * (median of 5 fresh `node` processes importing it). Prints figures against the targets; it does
 * not fail on them (timings vary by machine). It fails only when a bundle cannot be built.
 *
 *   npm run bench [-- config/site.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { loadDeployment } from '../functions/config/deployment.ts';
import { flows } from '../functions/flows/index.ts';
import { BUNDLE } from '../lib/constructs/millwright-function.ts';
import { type LambdaEntry, PROJECT_ROOT, writeEntries } from '../lib/entries.ts';

const SAMPLES = 5;
const OUT_DIR = join(PROJECT_ROOT, '.build', 'bench');

interface Target {
  kb: number;
  ms: number;
  label: string;
}
const TARGETS: Record<LambdaEntry['kind'], Target> = {
  ingress: { kb: 150, ms: 50, label: 'webhook ingress' },
  worker: { kb: 300, ms: 80, label: 'flow worker' },
  // No target of its own: a poller carries a flow module and the runtime, like a worker.
  poller: { kb: 300, ms: 80, label: 'flow worker (applied to poller)' },
  // A poll group's poller carries each member flow's module (for its config and options).
  'shared-poller': { kb: 300, ms: 80, label: 'flow worker (applied to shared poller)' },
};

/** Environment a function finds in Lambda (names only; nothing here is contacted at init). */
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
  NODE_OPTIONS: '--enable-source-maps',
};

async function bundle(entry: LambdaEntry): Promise<{ file: string; metafile: Metafile }> {
  const outfile = join(OUT_DIR, entry.id, 'index.mjs');
  const result = await build({
    entryPoints: [entry.entryPath],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    minify: true,
    sourcemap: 'external',
    sourcesContent: false,
    external: [...BUNDLE.external],
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    metafile: true,
    logLevel: 'silent',
  });
  return { file: outfile, metafile: result.metafile };
}

/**
 * Milliseconds to import the modules (module init, incl. handler construction) in a fresh process.
 * Bare specifiers resolve from the project, as the bundle's external `@aws-sdk/*` imports do.
 */
function initTime(modules: readonly string[]): number {
  const imports = modules.map((m) => `import(${JSON.stringify(m)})`).join(', ');
  const script = `const t = performance.now(); await Promise.all([${imports}]); process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, ...LAMBDA_ENV },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const ms = Number(run.stdout);
  if (run.status !== 0 || !Number.isFinite(ms)) {
    const detail = (run.stderr || run.stdout).trim().split('\n').slice(0, 5).join(' | ');
    throw new Error(`init failed (exit ${run.status}): ${detail}`);
  }
  return ms;
}

const sample = (modules: readonly string[]): number[] =>
  Array.from({ length: SAMPLES }, () => initTime(modules));

/** The external packages a bundle imports at run time (the SDK the Lambda runtime provides). */
const externalImports = (metafile: Metafile): string[] => [
  ...new Set(
    Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
  ),
];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

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

async function main(): Promise<void> {
  const configPath = resolve(process.argv[2] ?? 'config/default.json');
  const deployment = loadDeployment(configPath, flows);
  const entries = writeEntries(deployment);
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });

  console.log(
    `Millwright bundles: ${entries.length} functions from ${relative(PROJECT_ROOT, configPath)}; ` +
      `esbuild ${BUNDLE.target} ESM minified, external ${BUNDLE.external.join(' ')}; ` +
      `init = median of ${SAMPLES} fresh \`node\` ${process.version} processes (Lambda runs Node 22 on arm64).\n`,
  );
  const rows: string[][] = [];
  const notes: string[] = [];
  let failed = false;
  for (const entry of entries) {
    const target = TARGETS[entry.kind];
    try {
      const { file, metafile } = await bundle(entry);
      const kb = statSync(file).size / 1024;
      const samples = sample([pathToFileURL(file).href]);
      const ms = median(samples);
      const sdk = externalImports(metafile).filter((m) => m.startsWith('@aws-sdk/'));
      const sdkMs = sdk.length > 0 ? median(sample(sdk)) : 0;
      rows.push([
        entry.id,
        entry.kind,
        kb.toFixed(1),
        `<= ${target.kb}`,
        ms.toFixed(1),
        sdkMs.toFixed(1),
        `<= ${target.ms}`,
        kb <= target.kb && ms <= target.ms ? 'within' : 'OVER',
      ]);
      notes.push(
        `  ${entry.id}: ${relative(PROJECT_ROOT, file)}; init samples ${samples.map((s) => s.toFixed(0)).join('/')} ms; external: ${sdk.join(' ') || 'none'}; largest: ${topInputs(metafile, 5)} (KB)`,
      );
    } catch (error) {
      failed = true;
      const message =
        (error as { errors?: { text: string }[] }).errors?.map((e) => e.text).join('; ') ?? String(error);
      rows.push([entry.id, entry.kind, '-', `<= ${target.kb}`, '-', '-', `<= ${target.ms}`, 'FAILED']);
      notes.push(`  ${entry.id}: FAILED: ${message}`);
    }
  }

  const header = [
    'function',
    'kind',
    'KB (min)',
    'target KB',
    'init ms',
    'of it @aws-sdk',
    'target ms',
    'vs target',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i] ?? 0, i >= 2 && i <= 6)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nTargets: ${Object.values(TARGETS)
      .map((t) => `${t.label} <= ${t.kb} KB, <= ${t.ms} ms`)
      .join('; ')}.`,
  );
  console.log(
    '"of it @aws-sdk": the same SDK packages imported alone in a fresh process (median); the Lambda runtime provides them, the bundle does not carry them.',
  );
  console.log(notes.join('\n'));
  if (failed) process.exitCode = 1;
}

await main();
