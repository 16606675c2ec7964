/**
 * Hostile requests against `npm start` as a user runs it (sandbox/main.ts in its own process, random
 * ports, a temporary data folder): a malformed percent-encoding in the UpKeep token segment and a
 * client that disconnects mid-body. The process answers 400 (or drops the connection) and stays up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

let dir: string;
let child: ChildProcess;
let exited: Promise<number | null>;
let stderr = '';
let ingress: URL;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-hostile-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MILLWRIGHT_SANDBOX_PORT: '0',
    MILLWRIGHT_POLL_SECONDS: '3600',
  };
  delete env.npm_config_reset;
  delete env.npm_config_data;
  child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', '--data', dir], { env });
  exited = new Promise((done) => child.on('exit', (code) => done(code)));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let stdout = '';
  await new Promise<void>((done, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('Millwright sandbox is up')) done();
    });
    void exited.then((code) => fail(new Error(`sandbox exited ${code}: ${stderr}`)));
  });
  const endpoints = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  ingress = new URL(endpoints.ingress ?? '');
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Raw HTTP over a socket (fetch would refuse to send a malformed URL); resolves with the status line. */
function rawRequest(request: string, options: { abortAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(ingress.port), ingress.hostname);
    let answer = '';
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer to ${request.split('\r\n')[0]}`));
    });
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    socket.on('error', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.write(request, () => {
      if (options.abortAfterWrite) socket.destroy();
    });
  });
}

const post = (path: string, body = '{}') =>
  `POST ${path} HTTP/1.1\r\nHost: ${ingress.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

/** The process is still running and its ingress still answers. */
async function stillUp(): Promise<void> {
  expect(child.exitCode).toBeNull();
  const res = await fetch(new URL('/webhooks/upkeep/not-the-token', ingress), { method: 'POST', body: '{}' });
  expect(res.status).toBe(401);
}

describe('hostile input against npm start', () => {
  it.each(['%', '%E0%A4%A', '..%c0%af'])(
    'hostile input: a malformed percent-encoding in the UpKeep token segment (/webhooks/upkeep/%s) gets 400 and the process stays up',
    async (segment) => {
      expect(await rawRequest(post(`/webhooks/upkeep/${segment}`))).toBe('HTTP/1.1 400 Bad Request');
      await stillUp();
    },
    15_000,
  );

  it('hostile input: a client that disconnects mid-body (Error: aborted) is dropped and the process stays up', async () => {
    const head = `POST /webhooks/upkeep/x HTTP/1.1\r\nHost: ${ingress.host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
    for (let i = 0; i < 3; i++) await rawRequest(`${head}{"event":"WORK_ORDER_CR`, { abortAfterWrite: true });
    // Give the server the moment it needs to see the reset and fail the read.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await stillUp();
    expect(stderr).not.toMatch(/Error: aborted|URIError/);
  }, 15_000);
});
