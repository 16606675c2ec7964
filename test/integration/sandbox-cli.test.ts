/**
 * `npm start` as a user runs it (`sandbox/main.ts` in its own process): flags, and the lock that keeps
 * a second sandbox off a data folder in use, across real processes. Random ports, a temporary data
 * folder, and every process started here is stopped here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-sandbox-cli-'));
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** `npm start -- <args>` without npm (so the child's PID is the sandbox's). */
function startMain(args: string[]) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MILLWRIGHT_SANDBOX_PORT: '0',
    MILLWRIGHT_POLL_SECONDS: '3600',
  };
  // As if run by a plain `npm start`: no npm option that main.ts would take as a misplaced flag.
  delete env.npm_config_reset;
  delete env.npm_config_data;
  const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', ...args], { env });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    /** Resolves when stdout contains `text`; rejects if the process exits first. */
    waitFor: (text: string) =>
      new Promise<void>((done, fail) => {
        const check = () => {
          if (stdout.includes(text)) done();
        };
        child.stdout?.on('data', check);
        check();
        void exited.then((code) => fail(new Error(`exited ${code} before "${text}": ${stderr}`)));
      }),
  };
}

describe('npm start flags', () => {
  it('--help prints the flags and the environment variables, and starts nothing', async () => {
    const run = startMain(['--help']);
    expect(await run.exited).toBe(0);
    const { stdout } = run.output();
    expect(stdout).toMatch(/^Usage: npm start -- \[--reset\] \[--data <dir>\] \[--help\]/);
    for (const name of [
      '--reset',
      '--data <dir>',
      'MILLWRIGHT_CONFIG',
      'MILLWRIGHT_SANDBOX_PORT',
      'MILLWRIGHT_POLL_SECONDS',
      'MILLWRIGHT_VENDORS',
      'MILLWRIGHT_LOG_LEVEL',
    ]) {
      expect(stdout).toContain(name);
    }
  }, 30_000);

  it('refuses an unknown flag with the usage line (exit 2)', async () => {
    const run = startMain(['--rest']);
    expect(await run.exited).toBe(2);
    expect(run.output().stderr).toBe(
      "npm start: Unknown option '--rest'\nUsage: npm start -- [--reset] [--data <dir>] [--help] (npm start -- --help for more)\n",
    );
  }, 30_000);
});

describe('the data folder lock across processes', () => {
  it('refuses a second sandbox while the first runs, then frees the folder on SIGTERM', async () => {
    const first = startMain(['--data', dir]);
    await first.waitFor('Millwright sandbox is up');
    expect(existsSync(join(dir, 'sandbox.lock'))).toBe(true);

    const second = startMain(['--data', dir]);
    expect(await second.exited).toBe(1);
    expect(second.output().stderr).toContain(`another sandbox (PID ${first.child.pid}, started `);
    expect(second.output().stderr).toContain(`is using the data folder ${resolve(dir)}`);
    expect(second.output().stderr).not.toContain('Database is closed');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dir, 'sandbox.lock'))).toBe(false);
    expect(existsSync(join(dir, 'simulators', 'upkeep.json'))).toBe(true);
  }, 60_000);
});
