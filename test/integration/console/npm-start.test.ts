/**
 * `npm start` (sandbox/main.ts in its own process, random ports, a temporary data folder) starts the
 * console with the sandbox: it prints `Console: <url with token>`, whose token opens the API, and
 * writes the console's address (without the token) into endpoints.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { raw } from '../../support/console.ts';

const dir = mkdtempSync(join(tmpdir(), 'millwright-console-start-'));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints the console link, whose token works, and stops it with the sandbox', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MILLWRIGHT_SANDBOX_PORT: '0',
      MILLWRIGHT_POLL_SECONDS: '3600',
      MILLWRIGHT_LOG_LEVEL: 'warn',
    };
    delete env.npm_config_reset;
    delete env.npm_config_data;
    const started = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', '--data', dir], { env });
    child = started;
    const exited = new Promise<number | null>((done) => started.on('exit', (code) => done(code)));
    let stdout = '';
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    await new Promise<void>((done, fail) => {
      started.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('Ctrl-C to stop.')) done();
      });
      void exited.then((code) => fail(new Error(`npm start exited ${code}: ${stderr}`)));
    });

    const match = stdout.match(/^Console: http:\/\/127\.0\.0\.1:(\d+)\/#token=([\w-]{43})$/m);
    expect(match).not.toBeNull();
    const [, port, token] = match as RegExpMatchArray;
    const server = { port: Number(port) };
    const overview = await raw(server, '/api/overview', { headers: { 'x-millwright-token': token ?? '' } });
    expect(overview.status).toBe(200);
    expect(overview.json.target).toEqual({ kind: 'sandbox', label: `sandbox (${dir})` });
    expect((await raw(server, '/api/overview')).status).toBe(403);
    expect((await raw(server, '/')).text).toContain('<script type="importmap">');

    const endpoints = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as Record<string, string>;
    expect(endpoints.console).toBe(`http://127.0.0.1:${port}/`);
    expect(readFileSync(join(dir, 'endpoints.json'), 'utf8')).not.toContain(token);

    started.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(raw(server, '/')).rejects.toThrow(/ECONNREFUSED/);
  }, 60_000);
});
