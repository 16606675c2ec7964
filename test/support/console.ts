/** Talking to a console server from tests: the API with or without its token, raw requests with any Host. */
import { request } from 'node:http';
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Target } from '../../operator/target.ts';
import { sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox } from './sandbox.ts';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON they expect.
  json: any;
}

/** A raw HTTP request to the console (node:http, so the Host header is whatever the test says). */
export function raw(
  server: Pick<ConsoleServer, 'port'>,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {},
): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        // A fresh connection each time: no pooled socket outlives a closed server.
        agent: false,
        headers: { host: options.host ?? `127.0.0.1:${server.port}`, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          done({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', fail);
    req.end(options.body);
  });
}

/** The API as the page calls it: with the token, JSON bodies. */
export function apiClient(server: Pick<ConsoleServer, 'port' | 'token'>) {
  const headers = { 'x-millwright-token': server.token };
  return {
    get: (path: string) => raw(server, path, { headers }),
    post: (path: string, body: unknown) =>
      raw(server, path, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
  };
}

/** A console server over a fresh in-process sandbox, as the console integration tests use it. */
export interface TestConsole {
  sandbox: Sandbox;
  target: Target;
  server: ConsoleServer;
  api: ReturnType<typeof apiClient>;
  /** Waits for running jobs, then closes the server, the target and the sandbox. */
  close(): Promise<void>;
}

/** Starts a sandbox, the console on it (`by`: who the actions are recorded as) and its API client. */
export async function startTestConsole(options: { by?: string } = {}): Promise<TestConsole> {
  const sandbox = await startTestSandbox();
  const target = sandboxTarget(sandbox);
  const server = await startConsole({ target, ...(options.by ? { by: options.by } : {}) });
  await sandboxControl(sandbox).advance(0);
  return {
    sandbox,
    target,
    server,
    api: apiClient(server),
    close: async () => {
      await server.jobs.idle();
      await server.close();
      target.close();
      await sandbox.close();
    },
  };
}
