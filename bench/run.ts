/**
 * `npm run bench`: every performance figure of issue 14 in one table against its targets.
 *
 *   npm run bench                                  # this checkout
 *   npm run bench -- --baseline <git-rev>          # and the same benches on <git-rev>, side by side
 *   npm run bench -- --only cost,latency           # some parts only
 *
 * Each part is its own script, run in a fresh process with `--json` (its last line `BENCH_JSON {...}`):
 * bundles (bundle size, module init against a bare `node -e ''`), cpu (worker CPU per event), cost
 * (DynamoDB requests and dollars per 1M webhook events), latency (sandbox webhook -> vendor write),
 * scale-downtime (5,000 machines, 500 down) and scale-parts (a 100,000-part poll).
 *
 * With `--baseline`, the revision is checked out in .build/baseline (a git worktree sharing this
 * node_modules), this checkout's bench/ is copied over its own, and each part runs there and then
 * here, one after the other, so both see the same machine load: this machine is shared and noisy,
 * and only figures measured side by side compare. A part the old code cannot run shows as failed.
 * The run exits 0 whatever the figures (they vary by machine); it fails when a part of this checkout
 * gives no figures (the baseline's failures are figures too: they show in its column).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missed, type PartResult, parseFigures, renderTable } from './table.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PARTS = ['bundles', 'cpu', 'cost', 'latency', 'scale-downtime', 'scale-parts'] as const;
type Part = (typeof PARTS)[number];
const PART_TIMEOUT_MS = 10 * 60_000;

interface Args {
  baseline?: string;
  only: Part[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: [...PARTS] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (!v) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--baseline') args.baseline = value();
    else if (arg === '--only') {
      const names = value().split(',');
      const unknown = names.filter((n) => !(PARTS as readonly string[]).includes(n));
      if (unknown.length)
        throw new Error(`--only: unknown part ${unknown.join(', ')} (parts: ${PARTS.join(', ')})`);
      args.only = names as Part[];
    } else throw new Error(`unknown argument ${arg} (use --baseline <git-rev>, --only <parts>)`);
  }
  return args;
}

/** A worktree of `rev` in .build/baseline with this checkout's node_modules and bench/. */
function prepareBaseline(rev: string): { dir: string; label: string } {
  const sha = git(['rev-parse', '--verify', `${rev}^{commit}`]).trim();
  const dir = join(ROOT, '.build', 'baseline');
  if (existsSync(dir)) {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT });
    rmSync(dir, { recursive: true, force: true });
  }
  git(['worktree', 'add', '--force', '--detach', dir, sha]);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  cpSync(join(ROOT, 'bench'), join(dir, 'bench'), { recursive: true, force: true });
  const lockDiffers = spawnSync('git', ['diff', '--quiet', sha, 'HEAD', '--', 'package-lock.json'], {
    cwd: ROOT,
  }).status;
  if (lockDiffers) {
    process.stderr.write(
      `note: ${rev}'s package-lock.json differs from this checkout's; the baseline runs on this checkout's node_modules.\n`,
    );
  }
  return { dir, label: sha.slice(0, 7) };
}

function git(args: string[]): string {
  const run = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout;
}

/** Runs one part in `cwd` and returns its figures (or why it has none). */
function runPart(part: Part, cwd: string): Promise<PartResult> {
  const started = Date.now();
  const script = join('bench', `${part}.ts`);
  if (!existsSync(join(cwd, script))) {
    return Promise.resolve({ error: `${script} is missing`, seconds: 0 });
  }
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, '--json'], {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PART_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (Date.now() - started) / 1000;
      let figures: PartResult['figures'];
      try {
        figures = parseFigures(stdout);
      } catch (error) {
        return done({ error: `unreadable BENCH_JSON line: ${String(error)}`, seconds });
      }
      if (figures) return done({ figures, seconds });
      const tail = `${stderr}\n${stdout}`.trim().split('\n').slice(-3).join(' | ');
      done({ error: `exit ${code ?? signal}: ${tail}`, seconds });
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const baseline = args.baseline ? prepareBaseline(args.baseline) : undefined;
  const current: Record<string, PartResult> = {};
  const before: Record<string, PartResult> = {};
  const runs = args.only.length * (baseline ? 2 : 1);
  let n = 0;
  const step = async (part: Part, cwd: string, label: string, into: Record<string, PartResult>) => {
    n += 1;
    process.stderr.write(`[${n}/${runs}] ${part} (${label}) ... `);
    const result = await runPart(part, cwd);
    into[part] = result;
    process.stderr.write(
      `${result.error ? `failed: ${result.error.slice(0, 300)}` : 'done'} in ${result.seconds.toFixed(0)} s\n`,
    );
  };
  try {
    for (const part of args.only) {
      if (baseline) await step(part, baseline.dir, `before, ${baseline.label}`, before);
      await step(part, ROOT, 'now', current);
    }
  } finally {
    if (baseline) spawnSync('git', ['worktree', 'remove', '--force', baseline.dir], { cwd: ROOT });
  }

  const input = baseline ? { current, baseline: before, baselineLabel: baseline.label } : { current };
  const table = renderTable(input);
  const head =
    `Millwright benchmarks on ${process.platform}/${process.arch}, Node ${process.version} (Lambda runs Node 22 on arm64), ` +
    `${new Date().toISOString().slice(0, 16)}Z${baseline ? `; before = ${args.baseline} (${baseline.label}) run side by side` : ''}`;
  const failures = Object.entries(current)
    .filter(([, r]) => r.error)
    .map(([part, r]) => `  ${part}: ${r.error}`);
  const out = [head, '', table, '', `${missed(input)} measure(s) missed their target.`, ...failures].join(
    '\n',
  );
  console.log(out);
  mkdirSync(join(ROOT, '.build', 'bench'), { recursive: true });
  writeFileSync(join(ROOT, '.build', 'bench', 'table.md'), `${out}\n`);
  console.log(
    '\nEach part prints its details when run alone: `npx tsx bench/<part>.ts`. Table saved to .build/bench/table.md.',
  );
  if (failures.length) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
