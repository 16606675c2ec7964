import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { breakerTransport } from '../../../functions/core/breaker.ts';
import {
  INVOCATION_RESERVE_MS,
  invocationTimeLeftMs,
  withInvocationDeadline,
} from '../../../functions/core/deadline.ts';
import {
  AmbiguousWriteError,
  CircuitOpenError,
  isRetryable,
  VendorHttpError,
  VendorResponseError,
  VendorUnavailableError,
} from '../../../functions/core/errors.ts';
import { backoffDelay, HttpClient, parseRetryAfter } from '../../../functions/core/http.ts';
import type { StateStore } from '../../../functions/core/state.ts';

type Reply = {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  hang?: boolean;
  /** Send the status and headers, then never the body: the timeout fires while the body is read. */
  stallBody?: boolean;
};
let server: Server;
let baseUrl: string;
let script: Reply[] = [];
let hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const next = script.shift() ?? { status: 200, body: { ok: true } };
    if (next.hang) return; // never answers: the client's timeout fires
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
    if (next.stallBody) {
      res.write('{"id":');
      return;
    }
    res.end(next.body === undefined ? '' : JSON.stringify(next.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) {
  const sleeps: number[] = [];
  const http = new HttpClient({
    vendor: 'acme',
    baseUrl,
    timeoutMs: 300,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...extra,
  });
  return { http, sleeps };
}

const reset = (replies: Reply[]) => {
  script = replies;
  hits = [];
};

describe('HttpClient', () => {
  it('honours Retry-After on 429 before retrying', async () => {
    reset([
      { status: 429, headers: { 'retry-after': '3' } },
      { status: 200, body: { ok: true } },
    ]);
    const { http, sleeps } = client();
    const res = await http.request({ operation: 'list', method: 'GET', path: '/things' });
    expect(res.data).toEqual({ ok: true });
    expect(sleeps).toEqual([3000]);
    expect(hits).toHaveLength(2);
  });

  it('backs off exponentially with jitter on 5xx for safe requests, then gives up with a typed error', async () => {
    reset([{ status: 502 }, { status: 502 }, { status: 502 }]);
    const { http, sleeps } = client({ maxAttempts: 3, baseDelayMs: 100 });
    await expect(http.request({ operation: 'list', method: 'GET', path: '/things' })).rejects.toMatchObject({
      name: 'VendorHttpError',
      status: 502,
      retryable: true,
    });
    expect(sleeps).toEqual([50, 100]); // random 0.5 * 100 * 2^(n-1)
  });

  it('a POST answered 503 for a vendor whose refusedStatuses leave 503 out (no doc promise) is AmbiguousWriteError, sent once; its 429 is still re-sent', async () => {
    reset([{ status: 503 }, { status: 201, body: { id: 1 } }]);
    const { http } = client();
    const create = {
      operation: 'create',
      method: 'POST',
      path: '/things',
      body: {},
      refusedStatuses: [429],
    } as const;
    const error = await http.request(create).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect((error as Error).message).toContain('HTTP 503');
    expect(hits).toHaveLength(1);
    reset([{ status: 429 }, { status: 201, body: { id: 1 } }]);
    await expect(http.request(create)).resolves.toMatchObject({ status: 201 });
    expect(hits).toHaveLength(2);
  });

  it('retries a POST on 503 (the vendor did not act) but never on 500: a 500 is AmbiguousWriteError (it may have acted)', async () => {
    reset([{ status: 503 }, { status: 201, body: { id: 1 } }]);
    const { http } = client();
    await expect(
      http.request({ operation: 'create', method: 'POST', path: '/things', body: {} }),
    ).resolves.toMatchObject({
      status: 201,
    });
    reset([{ status: 500 }, { status: 201 }]);
    const error = await http
      .request({ operation: 'create', method: 'POST', path: '/things', body: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect((error as Error).message).toContain('HTTP 500');
    expect((error as Error).cause).toMatchObject({ name: 'VendorHttpError', status: 500 });
    expect(hits).toHaveLength(1);
  });

  it('turns a timeout after sending a POST into AmbiguousWriteError without re-sending', async () => {
    reset([{ status: 0, hang: true }]);
    const { http } = client();
    await expect(
      http.request({ operation: 'create', method: 'POST', path: '/things', body: {} }),
    ).rejects.toBeInstanceOf(AmbiguousWriteError);
    expect(hits).toEqual(['POST /things']);
  });

  it('a POST answered 2xx whose body is then lost (timeout while reading it) is AmbiguousWriteError, not a plain failure that would be sent again', async () => {
    reset([{ status: 201, stallBody: true }]);
    const { http } = client();
    const error = await http
      .request({ operation: 'create', method: 'POST', path: '/things', body: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect(hits).toEqual(['POST /things']);
  });

  it('a GET whose body is lost while reading it is retried', async () => {
    reset([
      { status: 200, stallBody: true },
      { status: 200, body: { ok: 2 } },
    ]);
    const { http } = client();
    await expect(http.request({ operation: 'list', method: 'GET', path: '/things' })).resolves.toMatchObject({
      data: { ok: 2 },
    });
    expect(hits).toHaveLength(2);
  });

  it('rethrows a refusal of an open circuit breaker untouched: a POST not sent is not ambiguous', async () => {
    let calls = 0;
    const refusing = (async () => {
      calls++;
      throw new CircuitOpenError('acme:api.acme.test', 12_000, 'circuit breaker acme:api.acme.test is open');
    }) as unknown as typeof fetch;
    const http = new HttpClient({
      vendor: 'acme',
      baseUrl: 'https://api.acme.test',
      fetch: refusing,
      sleep: async () => undefined,
    });
    for (const method of ['POST', 'GET'] as const) {
      const error = await http
        .request({ operation: 'create', method, path: '/things' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error).not.toBeInstanceOf(AmbiguousWriteError);
      expect((error as CircuitOpenError).retryAfterMs).toBe(12_000);
    }
    // No in-process retry of a refusal either: one transport call per request.
    expect(calls).toBe(2);
  });

  it("a create whose circuit breaker could not read its state (the state table throttled) is not sent and not ambiguous: a plain retryable error, so it is not parked as 'may have been sent'", async () => {
    reset([{ status: 201, body: { id: 1 } }]);
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ThrottlingException',
    });
    const state = {
      getVersioned: async () => {
        throw throttled;
      },
    } as unknown as StateStore;
    const { http } = client({ fetch: breakerTransport({ state })('acme') });
    const error = await http
      .request({ operation: 'create', method: 'POST', path: '/x', body: { a: 1 } })
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(AmbiguousWriteError);
    expect(isRetryable(error)).toBe(true);
    expect((error as Error).cause).toBe(throttled);
    expect(hits).toEqual([]);
  });

  it('retries a timed-out GET', async () => {
    reset([
      { status: 0, hang: true },
      { status: 200, body: { ok: 1 } },
    ]);
    const { http } = client();
    await expect(http.request({ operation: 'get', method: 'GET', path: '/x' })).resolves.toMatchObject({
      data: { ok: 1 },
    });
    expect(hits).toHaveLength(2);
  });

  it('stops retrying a vendor that never answers once another attempt would outlast the invocation, with a retryable error, instead of being killed by the Lambda timeout', async () => {
    reset([
      { status: 0, hang: true },
      { status: 0, hang: true },
      { status: 0, hang: true },
      { status: 0, hang: true },
    ]);
    // 500 ms left: one 300 ms attempt fits, a second would not.
    const endsAt = Date.now() + 500;
    const { http } = client({ timeLeftMs: () => endsAt - Date.now() });
    const error = await http
      .request({ operation: 'get', method: 'GET', path: '/x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorUnavailableError);
    expect((error as VendorUnavailableError).retryable).toBe(true);
    expect(hits).toHaveLength(1);
    expect(Date.now()).toBeLessThan(endsAt);
  });

  it('does not send a write when no attempt fits in the time the invocation has left (nothing sent: not ambiguous)', async () => {
    reset([{ status: 201, body: { id: 1 } }]);
    const { http } = client({ timeLeftMs: () => 100 });
    const error = await http
      .request({ operation: 'create', method: 'POST', path: '/x', body: { a: 1 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorUnavailableError);
    expect(error).not.toBeInstanceOf(AmbiguousWriteError);
    expect(hits).toEqual([]);
  });

  it("inside an invocation (the worker's Lambda), gives up by its deadline without being told, keeping the reserve for the worker", async () => {
    reset([
      { status: 0, hang: true },
      { status: 0, hang: true },
    ]);
    const endsAt = Date.now() + INVOCATION_RESERVE_MS + 500;
    const { http } = client();
    const error = await withInvocationDeadline(endsAt, () =>
      http.request({ operation: 'get', method: 'GET', path: '/x' }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorUnavailableError);
    expect(hits).toHaveLength(1);
    expect(Date.now()).toBeLessThan(endsAt - INVOCATION_RESERVE_MS);
    expect(invocationTimeLeftMs()).toBeUndefined();
  });

  it('does not wait inside the call when Retry-After exceeds the maximum delay', async () => {
    reset([{ status: 429, headers: { 'retry-after': '120' } }]);
    const { http, sleeps } = client({ maxDelayMs: 10_000 });
    await expect(http.request({ operation: 'get', method: 'GET', path: '/x' })).rejects.toMatchObject({
      status: 429,
      retryAfterMs: 120_000,
    });
    expect(sleeps).toEqual([]);
  });

  it('names the field when a 2xx body has an unexpected shape', async () => {
    reset([{ status: 200, body: { result: { id: 7 } } }]);
    const { http } = client();
    const schema = z.object({ result: z.object({ id: z.string() }) });
    const error = await http.request({ operation: 'get', method: 'GET', path: '/x', schema }).catch((e) => e);
    expect(error).toBeInstanceOf(VendorResponseError);
    expect(error.field).toBe('result.id');
    expect(error.message).toContain('result.id');
  });

  it('redacts secrets from error messages', async () => {
    reset([{ status: 400, body: { message: 'bad token s3cr3t-token-value' } }]);
    const { http } = client({ secrets: () => ['s3cr3t-token-value'] });
    const error = await http.request({ operation: 'get', method: 'GET', path: '/x' }).catch((e) => e);
    expect(error.message).not.toContain('s3cr3t-token-value');
    expect(error.message).toContain('[REDACTED]');
  });
});

describe('retry timing helpers', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
  it('caps the backoff at the maximum', () => {
    expect(backoffDelay(10, 200, 5000, () => 1)).toBe(5000);
  });

  it('raises an error answer with status, whole body, detail and headers as fields, credentials removed', async () => {
    const key = 'acme-key-0123456789';
    const body = { error: 'refused', echo: `Bearer ${key}`, pad: 'x'.repeat(400) };
    reset([{ status: 422, body, headers: { 'request-id': 'r-7' } }]);
    const { http } = client({ headers: { authorization: `Bearer ${key}` } });
    const error = (await http
      .request({ operation: 'create', method: 'POST', path: '/things', body: {} })
      .catch((e: unknown) => e)) as VendorHttpError;
    expect(error).toBeInstanceOf(VendorHttpError);
    expect(error.status).toBe(422);
    expect(error.body).toEqual({ ...body, echo: 'Bearer [REDACTED]' });
    expect(error.detail).toHaveLength(300);
    expect(error.detail).toContain('"error":"refused"');
    expect(error.detail).not.toContain(key);
    expect(error.headers?.get('request-id')).toBe('r-7');
    expect(error.message).toBe(`acme create failed with HTTP 422: ${error.detail}`);
  });
});
