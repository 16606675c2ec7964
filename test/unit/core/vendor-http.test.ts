/** VendorHttpClient with an API key: lazy key, one re-read after a refused key, 4xx errors, final errors, redaction. */
import { describe, expect, it } from '@jest/globals';
import { apiKeyHeader } from '../../../functions/core/auth.ts';
import { AmbiguousWriteError, redact, VendorHttpError } from '../../../functions/core/errors.ts';
import type { HttpRequest } from '../../../functions/core/http.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import {
  type VendorErrorInfo,
  VendorHttpClient,
  type VendorHttpClientOptions,
} from '../../../functions/core/vendor-http.ts';

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'network-error';

/** The typed error a vendor client would build: its message names the status and the (redacted) body. */
class AcmeError extends Error {
  constructor(readonly info: VendorErrorInfo) {
    const body = typeof info.body === 'string' ? info.body : JSON.stringify(info.body);
    super(redact(`acme ${info.request.operation} -> ${info.status}: ${body}`, info.secrets));
  }
}

function harness(
  replies: Reply[],
  keys: string[],
  extra: Partial<VendorHttpClientOptions> & { rejectedKeyStatuses?: readonly number[] } = {},
  httpExtra: VendorHttpClientOptions['http'] = {},
) {
  const loads: { refresh: boolean }[] = [];
  const sent: { url: string; method: string; headers: Record<string, string> }[] = [];
  const sleeps: number[] = [];
  const log = memoryLog();
  const fetchFn = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    sent.push({
      url: String(url),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
    });
    const next = replies.shift() ?? { status: 200, body: { ok: true } };
    if (next === 'network-error')
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    return new Response(next.body === undefined ? null : JSON.stringify(next.body), {
      status: next.status,
      headers: { 'content-type': 'application/json', ...next.headers },
    });
  };
  const { rejectedKeyStatuses, ...options } = extra;
  const client = new VendorHttpClient({
    vendor: 'acme',
    baseUrl: 'https://api.acme.test/v1/',
    http: {
      fetch: fetchFn as typeof fetch,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      maxAttempts: 3,
      ...httpExtra,
    },
    auth: apiKeyHeader('authorization', {
      scheme: 'Key',
      load: async (options) => {
        loads.push(options);
        return keys[Math.min(loads.length - 1, keys.length - 1)] ?? '';
      },
      refusedStatuses: rejectedKeyStatuses,
    }),
    toError: (info) => new AcmeError(info),
    log,
    ...options,
  });
  return { client, loads, sent, sleeps, log };
}

const GET: HttpRequest = { operation: 'getThing', method: 'GET', path: '/things/1' };
const POST: HttpRequest = { operation: 'createThing', method: 'POST', path: '/things', body: { a: 1 } };

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );

describe('VendorHttpClient: the key', () => {
  it('reads the key lazily, once, and sends it in the auth headers of every call', async () => {
    const { client, loads, sent } = harness([], ['k-first-key']);
    expect(loads).toEqual([]); // nothing read in the constructor
    await client.send(GET);
    await client.send(GET);
    expect(loads).toEqual([{ refresh: false }]);
    expect(sent.map((s) => s.headers.authorization)).toEqual(['Key k-first-key', 'Key k-first-key']);
    expect(sent[0]?.url).toBe('https://api.acme.test/v1/things/1');
    expect(client.secrets()).toEqual(['k-first-key']);
  });

  it('re-reads the key once after a 401 and retries once when it changed', async () => {
    const { client, loads, sent, log } = harness(
      [{ status: 401, body: { error: 'bad key' } }],
      ['k-old-key', 'k-new-key'],
    );
    const response = await client.send(GET);
    expect(response.status).toBe(200);
    expect(loads).toEqual([{ refresh: false }, { refresh: true }]);
    expect(sent.map((s) => s.headers.authorization)).toEqual(['Key k-old-key', 'Key k-new-key']);
    expect(log.lines).toContainEqual({
      level: 'warn',
      message: 'acme answered 401; retrying once with the re-read API key',
      extra: { operation: 'getThing' },
    });
    // The fresh key is cached for the next call.
    await client.send(GET);
    expect(loads).toHaveLength(2);
    expect(sent[2]?.headers.authorization).toBe('Key k-new-key');
  });

  it('does not retry when the re-read key is unchanged, and raises the 401 (no loop)', async () => {
    const { client, loads, sent } = harness(
      [
        { status: 401, body: { error: 'bad key' } },
        { status: 401, body: { error: 'bad key' } },
      ],
      ['k-same-key'],
    );
    const error = await failure(client.send(GET));
    expect(error).toBeInstanceOf(AcmeError);
    expect((error as AcmeError).info.status).toBe(401);
    expect(loads).toEqual([{ refresh: false }, { refresh: true }]);
    expect(sent).toHaveLength(1);
  });

  it('retries a changed key only once: a second 401 is raised', async () => {
    const { client, loads, sent } = harness(
      [
        { status: 401, body: { error: 'bad key' } },
        { status: 401, body: { error: 'still bad' } },
      ],
      ['k-key-one', 'k-key-two', 'k-key-three'],
    );
    const error = (await failure(client.send(GET))) as AcmeError;
    expect(error.info.status).toBe(401);
    expect(error.info.body).toEqual({ error: 'still bad' });
    expect(loads).toHaveLength(2);
    expect(sent).toHaveLength(2);
  });

  it('treats only rejectedKeyStatuses as a refused key (default 401)', async () => {
    const plain = harness([{ status: 403, body: { error: 'forbidden' } }], ['k-old-key', 'k-new-key']);
    expect(((await failure(plain.client.send(GET))) as AcmeError).info.status).toBe(403);
    expect(plain.loads).toHaveLength(1);

    const with403 = harness([{ status: 403, body: { error: 'forbidden' } }], ['k-old-key', 'k-new-key'], {
      rejectedKeyStatuses: [401, 403],
    });
    expect((await with403.client.send(GET)).status).toBe(200);
    expect(with403.sent.map((s) => s.headers.authorization)).toEqual(['Key k-old-key', 'Key k-new-key']);
    expect(with403.log.lines.map((l) => l.message)).toContain(
      'acme answered 403; retrying once with the re-read API key',
    );
  });
});

describe('VendorHttpClient: errors', () => {
  it('hands a 4xx body, status and headers to toError, without retrying', async () => {
    const body = { code: 'E42', fields: { name: 'required' } };
    const { client, sent, sleeps } = harness(
      [{ status: 422, body, headers: { 'request-id': 'r-1' } }],
      ['k-first-key'],
    );
    const error = (await failure(client.send(POST))) as AcmeError;
    expect(error.info.request).toBe(POST);
    expect(error.info.status).toBe(422);
    expect(error.info.body).toEqual(body);
    expect(error.info.headers?.get('request-id')).toBe('r-1');
    expect(error.info.cause).toBeUndefined();
    expect(error.message).toBe('acme createThing -> 422: {"code":"E42","fields":{"name":"required"}}');
    expect(sent).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("returns a status listed in the request's accept instead of raising it", async () => {
    const { client } = harness([{ status: 404, body: { error: 'not found' } }], ['k-first-key']);
    const response = await client.send({ ...GET, acceptStatus: [404] });
    expect(response.status).toBe(404);
    expect(response.data).toEqual({ error: 'not found' });
  });

  it('converts a final 5xx after HttpClient retries into toError with the cause', async () => {
    const { client, sent, sleeps } = harness(
      [
        { status: 503, body: { error: 'down' } },
        { status: 503, body: { error: 'down' } },
        { status: 503, body: { error: 'still down' } },
      ],
      ['k-first-key'],
    );
    const error = (await failure(client.send(GET))) as AcmeError;
    expect(sent).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(error.info.status).toBe(503);
    expect(error.info.cause).toBeInstanceOf(VendorHttpError);
    expect(error.info.cause?.status).toBe(503);
    // HttpClient's generic prefix is removed: the body is the vendor's detail text.
    expect(error.info.body).toBe('{"error":"still down"}');
    expect(error.info.headers).toBeUndefined();
  });

  it('converts a final 429 and keeps its Retry-After', async () => {
    // A Retry-After longer than HttpClient may wait ends the retries at once.
    const { client, sent } = harness([{ status: 429, headers: { 'retry-after': '120' } }], ['k-first-key']);
    const error = (await failure(client.send(GET))) as AcmeError;
    expect(sent).toHaveLength(1);
    expect(error.info.status).toBe(429);
    expect(error.info.retryAfterMs).toBe(120_000);
    expect(error.info.cause?.retryAfterMs).toBe(120_000);
  });

  it('rethrows what toError returns, e.g. the cause itself', async () => {
    const { client } = harness([{ status: 500 }, { status: 500 }, { status: 500 }], ['k-first-key'], {
      toError: (info) => info.cause ?? new Error('unexpected'),
    });
    const error = await failure(client.send(GET));
    expect(error).toBeInstanceOf(VendorHttpError);
    expect((error as VendorHttpError).message).toMatch(/^acme getThing failed with HTTP 500/);
  });

  it('lets errors that are not HTTP answers through unchanged (ambiguous write)', async () => {
    let called = false;
    const { client } = harness(['network-error'], ['k-first-key'], {
      toError: () => {
        called = true;
        return new Error('should not be called');
      },
    });
    expect(await failure(client.send(POST))).toBeInstanceOf(AmbiguousWriteError);
    expect(called).toBe(false);
  });
});

describe('VendorHttpClient: redaction', () => {
  const KEY = 'k-super-secret-key';

  it('never shows the key in a final error, its cause or the retry log lines', async () => {
    const echo = { status: 500, body: { error: `bad header Key ${KEY}` } };
    const { client, log } = harness([echo, echo, echo], [KEY]);
    const error = (await failure(client.send(GET))) as AcmeError;
    expect(error.message).not.toContain(KEY);
    expect(error.message).toContain('[REDACTED]');
    expect(error.info.cause?.message).not.toContain(KEY);
    expect(JSON.stringify(log.lines)).not.toContain(KEY);
    expect(log.lines.filter((l) => l.message === 'acme request retried')).toHaveLength(2);
  });

  it('gives toError the key in use as a secret, so a 4xx message can be redacted', async () => {
    const { client } = harness([{ status: 400, body: { error: `unknown key ${KEY}` } }], [KEY]);
    const error = (await failure(client.send(GET))) as AcmeError;
    expect(error.info.secrets).toEqual([KEY]);
    expect(error.message).toBe('acme getThing -> 400: {"error":"unknown key [REDACTED]"}');
  });
});

describe('VendorHttpClient: settings and logs', () => {
  it('logs one info line per answered call; callLog adds fields or turns it off', async () => {
    const plain = harness([], ['k-first-key']);
    await plain.client.send(GET);
    expect(plain.log.lines).toEqual([
      { level: 'info', message: 'acme call', extra: { operation: 'getThing', status: 200 } },
    ]);

    const fields = harness([{ status: 200, body: {}, headers: { 'request-id': 'r-9' } }], ['k-first-key'], {
      callLog: (response) => ({ requestId: response.headers.get('request-id') ?? undefined }),
    });
    await fields.client.send(GET);
    expect(fields.log.lines[0]?.extra).toEqual({ operation: 'getThing', status: 200, requestId: 'r-9' });

    const off = harness([], ['k-first-key'], { callLog: false });
    await off.client.send(GET);
    expect(off.log.lines).toEqual([]);
  });

  it('sends static headers, calls hooks on every attempt, and ignores explicit undefined overrides', async () => {
    const attempts: number[] = [];
    const retried: number[] = [];
    const { client, sent } = harness(
      [{ status: 503 }, { status: 503 }, { status: 503 }],
      ['k-first-key'],
      {
        headers: { 'user-agent': 'millwright-test' },
        hooks: {
          beforeAttempt: async ({ attempt }) => {
            attempts.push(attempt);
          },
        },
      },
      // The harness sets maxAttempts 3; an explicit undefined must restore HttpClient's default (4).
      { maxAttempts: undefined, onRetry: (info) => retried.push(info.attempt) },
    );
    expect((await client.send(GET)).status).toBe(200);
    expect(sent).toHaveLength(4);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(retried).toEqual([1, 2, 3]);
    expect(sent[0]?.headers['user-agent']).toBe('millwright-test');
    expect(sent[0]?.headers.authorization).toBe('Key k-first-key');
  });
});
