/**
 * `millwright console` as an operator runs it (the CLI in this process, on an in-process sandbox):
 * it prints a 127.0.0.1 URL whose token opens the API, runs until stopped, then closes its port.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../../../cli/main.ts';
import { bufferIo } from '../../../cli/output.ts';
import { startConsoleFrom } from '../../../console/server.ts';
import { sandboxTarget } from '../../../operator/sandbox-target.ts';
import type { Sandbox } from '../../../sandbox/runtime.ts';
import { raw } from '../../support/console.ts';
import { startTestSandbox } from '../../support/sandbox.ts';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

/** Runs `millwright ...argv` until `stop()`; `printed(re)` resolves with the first match in its output. */
function runUntilStopped(argv: string[]) {
  const io = bufferIo(200);
  const waiters: { re: RegExp; done: (m: RegExpMatchArray) => void }[] = [];
  const out = io.out;
  io.out = (text) => {
    out(text);
    const all = io.stdout.join('');
    for (const w of waiters.splice(0)) {
      const m = all.match(w.re);
      if (m) w.done(m);
      else waiters.push(w);
    }
  };
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((done) => {
    stop = done;
  });
  const exit = runCli(argv, {
    io,
    openTarget: async () => sandboxTarget(sandbox),
    untilStopped: () => stopped,
  });
  const printed = (re: RegExp) =>
    Promise.race([
      new Promise<RegExpMatchArray>((done) => {
        const m = io.stdout.join('').match(re);
        if (m) done(m);
        else waiters.push({ re, done });
      }),
      exit.then((code): never => {
        throw new Error(`exited ${code} before printing ${re}: ${io.stderr.join('')}`);
      }),
    ]);
  return { io, exit, printed, stop };
}

describe('millwright console', () => {
  it('prints a URL whose token works, and stops on the signal', async () => {
    const run = runUntilStopped(['console', '--no-open']);
    const [url, port, token] = (await run.printed(
      /http:\/\/127\.0\.0\.1:(\d+)\/#token=([\w-]+)/,
    )) as string[];
    expect(url).toBeDefined();
    const server = { port: Number(port) };
    const ok = await raw(server, '/api/overview', { headers: { 'x-millwright-token': token ?? '' } });
    expect(ok.status).toBe(200);
    expect(ok.json.target.kind).toBe('sandbox');
    expect((await raw(server, '/api/overview')).status).toBe(403);
    expect(run.io.stdout.join('')).toMatch(/Ctrl-C stops the console/);

    run.stop();
    expect(await run.exit).toBe(0);
    await expect(raw(server, '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a bad port, and a port in use, with a message', async () => {
    const io = bufferIo();
    expect(await runCli(['console', '--port', 'x', '--no-open'], { io })).toBe(2);
    expect(io.stderr.join('')).toMatch(/--port: "x" is not a port number/);

    const first = runUntilStopped(['console', '--no-open']);
    const [, port] = (await first.printed(/127\.0\.0\.1:(\d+)\//)) as string[];
    const second = bufferIo();
    const code = await runCli(['console', '--port', port ?? '', '--no-open'], {
      io: second,
      openTarget: async () => sandboxTarget(sandbox),
    });
    expect(code).toBe(1);
    expect(second.stderr.join('')).toMatch(new RegExp(`port ${port} is in use`));
    first.stop();
    expect(await first.exit).toBe(0);
  });
});

describe("npm start's console port", () => {
  it('takes the next port when the first one is taken', async () => {
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', done));
    const taken = (busy.address() as { port: number }).port;
    const target = sandboxTarget(sandbox);
    try {
      const server = await startConsoleFrom({ target }, taken);
      try {
        expect(server.port).toBeGreaterThan(taken);
        expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
      } finally {
        await server.close();
      }
    } finally {
      target.close();
      await new Promise<void>((done) => busy.close(() => done()));
    }
  });
});
