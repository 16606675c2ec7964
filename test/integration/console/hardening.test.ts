/**
 * The console server's edges an attacker or a careless client reaches, against a stub target (no
 * sandbox: every request here is refused or answered before the operator layer runs): bodies sent
 * without a length, tokens in the wrong place, CSRF-simple requests, odd methods, and static paths
 * that try to leave console/web.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ConsoleServer, MAX_BODY_BYTES, startConsole } from '../../../console/server.ts';
import type { Target } from '../../../operator/target.ts';
import { raw } from '../../support/console.ts';

let server: ConsoleServer;

/** Just enough of a deployed stack for the server to start: no flows, no sandbox. */
const stubTarget = (): Target =>
  ({
    kind: 'stack',
    label: 'stub',
    flows: new Map(),
    env: () => ({ now: () => new Date('2026-12-07T06:00:00Z') }),
    close: () => undefined,
  }) as unknown as Target;

beforeAll(async () => {
  server = await startConsole({ target: stubTarget() });
});
afterAll(() => server?.close());

/** A POST whose body is streamed chunked (no content-length), `size` bytes in 16 KB pieces. */
const chunkedPost = (path: string, size: number) =>
  new Promise<{ status: number; text: string }>((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: 'POST',
        agent: false,
        headers: {
          host: `127.0.0.1:${server.port}`,
          'x-millwright-token': server.token,
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    // The server may answer and close before the whole body is written: only its answer counts.
    req.on('error', (error) => fail(error));
    const piece = 'x'.repeat(16 * 1024);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });

describe('bodies', () => {
  it('answers a chunked body over 64 KB (no content-length) with a 413, not a dropped connection', async () => {
    const answer = await chunkedPost('/api/flows/nope/pause', MAX_BODY_BYTES * 4);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text)).toEqual({ error: `the body is over ${MAX_BODY_BYTES} bytes` });
  });
});

describe('the token', () => {
  it('is taken only from its header: not from the query string, a cookie or Authorization', async () => {
    for (const [path, headers] of [
      [`/api/overview?token=${server.token}`, {}],
      [`/api/overview?x-millwright-token=${server.token}`, {}],
      ['/api/overview', { cookie: `token=${server.token}` }],
      ['/api/overview', { authorization: `Bearer ${server.token}` }],
    ] as const) {
      const answer = await raw(server, path, { headers });
      expect([path, answer.status]).toEqual([path, 403]);
    }
  });

  it('refuses a CSRF-simple POST (text/plain, no token) before anything else, with no CORS header', async () => {
    const answer = await raw(server, '/api/flows/nope/pause', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
      body: '{"dryRun":false}',
    });
    expect(answer.status).toBe(403);
    expect(Object.keys(answer.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    // With the token but a simple content type, still no action.
    const typed = await raw(server, '/api/flows/nope/pause', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-millwright-token': server.token },
      body: '{"dryRun":false}',
    });
    expect(typed.status).toBe(415);
  });

  it('never approves a preflight, and takes no other method on the API', async () => {
    const preflight = await raw(server, '/api/flows/nope/pause', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-millwright-token,content-type',
      },
    });
    expect(preflight.status).toBe(403);
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const answer = await raw(server, '/api/flows/nope/pause', {
        method,
        headers: { 'x-millwright-token': server.token, 'content-type': 'application/json' },
        body: '{}',
      });
      expect([method, answer.status]).toEqual([method, 405]);
    }
  });
});

describe('prototype names in paths', () => {
  it('are unknown flows and jobs (404), never an object member', async () => {
    const headers = { 'x-millwright-token': server.token, 'content-type': 'application/json' };
    for (const name of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
      const pause = await raw(server, `/api/flows/${name}/pause`, { method: 'POST', headers, body: '{}' });
      expect([name, pause.status]).toEqual([name, 404]);
      const job = await raw(server, `/api/jobs/${name}`, { headers });
      expect([name, job.status]).toEqual([name, 404]);
    }
  });
});

describe('static files', () => {
  it('serves nothing outside console/web for backslashes, absolute paths or double encoding', async () => {
    for (const path of [
      '/..\\package.json',
      '/%5c..%5cpackage.json',
      '/%2e%2e%5c%2e%2e%5cpackage.json',
      '/%252e%252e/package.json',
      '//etc/passwd',
      '/%2fetc%2fpasswd',
      '/.%2e/.%2e/package.json',
      '/pages/..%2f..%2fserver.ts',
      '/vendor%2f..%2f..%2fpackage.json',
      '/index.html%00.js',
    ]) {
      const answer = await raw(server, path);
      expect([path, answer.status]).toEqual([path, 404]);
    }
  });
});
