/**
 * Hostile requests against `npm start` as a user runs it (sandbox/main.ts in its own process, random
 * ports, a temporary data folder): a malformed percent-encoding in the UpKeep token segment and a
 * client that disconnects mid-body. The process answers 400 (or drops the connection) and stays up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type SandboxProcess, startSandboxProcess } from '../support/sandbox-process.ts';

let dir: string;
let sandbox: SandboxProcess;
let ingress: URL;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-hostile-'));
  // At the default log level, so every line the ingress prints reaches stderr for the checks below.
  sandbox = await startSandboxProcess(dir, { MILLWRIGHT_LOG_LEVEL: 'info' });
  ingress = new URL(sandbox.endpoints.ingress ?? '');
}, 60_000);

afterAll(async () => {
  await sandbox?.kill('SIGTERM');
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
  expect(sandbox.child.exitCode).toBeNull();
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
    expect(sandbox.stderr()).not.toMatch(/Error: aborted|URIError/);
  }, 15_000);
});
