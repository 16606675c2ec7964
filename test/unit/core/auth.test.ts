/** Auth strategies of the vendor HTTP client: key header, bearer, session login; one credential cache. */
import { describe, expect, it } from '@jest/globals';
import {
  apiKeyHeader,
  bearer,
  credentialCache,
  type HttpAuth,
  SessionAuth,
} from '../../../functions/core/auth.ts';
import { CredentialRejectedError, VendorHttpError } from '../../../functions/core/errors.ts';
import type { HttpClient } from '../../../functions/core/http.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { VendorHttpClient } from '../../../functions/core/vendor-http.ts';

type Reply = { status: number; body?: unknown };

/** A vendor that answers each request by the credential it carries (`accept` says which pass). */
function vendor(accept: (headers: Record<string, string>, path: string) => Reply) {
  const sent: { path: string; headers: Record<string, string> }[] = [];
  const fetchFn = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = { ...(init?.headers as Record<string, string>) };
    const path = new URL(String(url)).pathname;
    sent.push({ path, headers });
    // Let concurrent callers all reach the vendor before any answer comes back.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reply = accept(headers, path);
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { sent, fetch: fetchFn as typeof fetch };
}

/** A secret whose value rotates after `rotateAfter` reads; records each read's `refresh` flag. */
function secret(values: string[]) {
  const reads: boolean[] = [];
  const load = async ({ refresh }: { refresh: boolean }) => {
    reads.push(refresh);
    await new Promise((resolve) => setTimeout(resolve, 2));
    return values[Math.min(reads.length - 1, values.length - 1)] ?? '';
  };
  return { reads, load };
}

const client = (auth: HttpAuth | ((http: HttpClient) => HttpAuth), fetchFn: typeof fetch) => {
  const log = memoryLog();
  return {
    log,
    http: new VendorHttpClient({
      vendor: 'acme',
      baseUrl: 'https://api.acme.test',
      auth,
      http: { fetch: fetchFn, sleep: async () => undefined, maxAttempts: 1 },
      callLog: false,
      log,
    }),
  };
};

const GET = { operation: 'getThing', method: 'GET' as const, path: '/things/1' };
/** What `promise` was rejected with (a promise that resolves fails the test). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('key strategies', () => {
  it('send the key in the header each vendor expects', async () => {
    const cases: [HttpAuth, string, string][] = [
      [apiKeyHeader('api-key', { load: async () => 'mw-key-1' }), 'api-key', 'mw-key-1'],
      [
        apiKeyHeader('authorization', { scheme: 'Token', load: async () => 'dp-key-1' }),
        'authorization',
        'Token dp-key-1',
      ],
      [bearer({ load: async () => 'mm-key-1' }), 'authorization', 'Bearer mm-key-1'],
    ];
    for (const [auth, header, value] of cases) {
      const v = vendor(() => ({ status: 200, body: {} }));
      await client(auth, v.fetch).http.send(GET);
      expect(v.sent[0]?.headers[header]).toBe(value);
    }
  });

  it('re-reads the secret once after a 401, retries once, and a second 401 names the secret', async () => {
    const s = secret(['key-old-1', 'key-new-2']);
    const v = vendor(() => ({ status: 401, body: { error: 'invalid key' } }));
    const { http, log } = client(bearer({ load: s.load, secretName: 'millwright/acme' }), v.fetch);
    const error = await failure(http.send(GET));
    expect(s.reads).toEqual([false, true]);
    expect(v.sent.map((r) => r.headers.authorization)).toEqual(['Bearer key-old-1', 'Bearer key-new-2']);
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect(error).toBeInstanceOf(VendorHttpError);
    const rejected = error as CredentialRejectedError;
    expect(rejected.status).toBe(401);
    expect(rejected.secretName).toBe('millwright/acme');
    expect(rejected.message).toMatch(/secret millwright\/acme/);
    expect(rejected.body).toEqual({ error: 'invalid key' });
    expect(rejected.retryable).toBe(false);
    expect(log.lines.map((l) => l.message)).toEqual([
      'acme answered 401; retrying once with the re-read API key',
    ]);
  });

  it('does not send again when the re-read key is unchanged, unless retryUnchanged', async () => {
    const same = secret(['key-same-1']);
    const v = vendor(() => ({ status: 401 }));
    await failure(client(bearer({ load: same.load }), v.fetch).http.send(GET));
    expect(same.reads).toEqual([false, true]);
    expect(v.sent).toHaveLength(1);

    const again = secret(['key-same-1']);
    const w = vendor(() => ({ status: 401 }));
    const error = await failure(
      client(bearer({ load: again.load, retryUnchanged: true }), w.fetch).http.send(GET),
    );
    expect(w.sent).toHaveLength(2);
    expect((error as VendorHttpError).status).toBe(401);
  });

  it('shares one re-read between concurrent calls refused with the same key', async () => {
    const s = secret(['key-old-1', 'key-new-2']);
    const v = vendor((headers) =>
      headers.authorization === 'Bearer key-new-2' ? { status: 200, body: { ok: true } } : { status: 401 },
    );
    const { http } = client(bearer({ load: s.load }), v.fetch);
    const answers = await Promise.all([http.send(GET), http.send(GET), http.send(GET)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(s.reads).toEqual([false, true]);
    expect(v.sent.filter((r) => r.headers.authorization === 'Bearer key-new-2')).toHaveLength(3);
  });

  it('treats only the strategy refused statuses as a refused key', async () => {
    const s = secret(['key-old-1', 'key-new-2']);
    const v = vendor((headers) =>
      headers.authorization === 'Token key-new-2' ? { status: 200 } : { status: 403 },
    );
    const auth = apiKeyHeader('authorization', {
      scheme: 'Token',
      load: s.load,
      refusedStatuses: [401, 403],
    });
    expect((await client(auth, v.fetch).http.send(GET)).status).toBe(200);
    const plain = secret(['key-old-1', 'key-new-2']);
    const error = await failure(client(bearer({ load: plain.load }), v.fetch).http.send(GET));
    expect((error as VendorHttpError).status).toBe(403);
    expect(error).not.toBeInstanceOf(CredentialRejectedError);
    expect(plain.reads).toEqual([false]);
  });
});

describe('CredentialCache', () => {
  it('loads once for concurrent callers and keeps a value another caller already renewed', async () => {
    const s = secret(['v1', 'v2', 'v3']);
    const cache = credentialCache({ load: s.load });
    expect(await Promise.all([cache.get(), cache.get()])).toEqual(['v1', 'v1']);
    expect(await cache.renew('v1')).toBe('v2');
    // A caller still holding v1 gets v2 without another read.
    expect(await cache.renew('v1')).toBe('v2');
    expect(s.reads).toEqual([false, true]);
    cache.forget((value) => value === 'other');
    expect(cache.peek()).toBe('v2');
    cache.forget();
    expect(cache.peek()).toBeUndefined();
  });
});

describe('session strategy', () => {
  const HOUR = 3_600_000;
  /** A vendor with `POST /auth` issuing t1, t2, ...; `valid` says which tokens its API accepts. */
  function sessionVendor(password: string, valid: (token: string) => boolean) {
    let issued = 0;
    return vendor((headers, path) => {
      if (path === '/auth') {
        return headers.password === password
          ? { status: 200, body: { token: `tok-${++issued}` } }
          : { status: 401, body: { error: 'bad credentials' } };
      }
      return valid(headers['session-token'] ?? '') ? { status: 200, body: {} } : { status: 401 };
    });
  }
  const sessionAuth =
    (load: (o: { refresh: boolean }) => Promise<string>, now = () => new Date(0)) =>
    (http: HttpClient) =>
      new SessionAuth<string>({
        vendor: 'acme',
        loadCredentials: load,
        sameCredentials: (a, b) => a === b,
        sensitive: (password) => [password],
        login: async (password) => {
          // The test vendor reads the password from a header to keep the stub small.
          const { data } = await http.request({
            operation: 'login',
            method: 'POST',
            path: '/auth',
            headers: { password },
            idempotent: true,
          });
          return {
            sessionToken: (data as { token: string }).token,
            expiresAt: new Date(now().getTime() + HOUR),
          };
        },
        headers: (token) => ({ 'session-token': token }),
        refreshMarginMs: HOUR / 4,
        secretName: 'millwright/acme',
        now,
      });

  it('logs in once for concurrent calls and sends the token', async () => {
    const s = secret(['pw-right-1']);
    const v = sessionVendor('pw-right-1', () => true);
    const { http } = client(sessionAuth(s.load), v.fetch);
    await Promise.all([http.send(GET), http.send(GET)]);
    expect(v.sent.filter((r) => r.path === '/auth')).toHaveLength(1);
    expect(v.sent.filter((r) => r.path !== '/auth').map((r) => r.headers['session-token'])).toEqual([
      'tok-1',
      'tok-1',
    ]);
  });

  it('logs in again once after a 401; concurrent 401s share that login; a second 401 names the secret', async () => {
    const s = secret(['pw-right-1']);
    let accepted = 'tok-1';
    const v = sessionVendor('pw-right-1', (token) => token === accepted);
    const { http } = client(sessionAuth(s.load), v.fetch);
    await http.send(GET);
    accepted = 'tok-2';
    await Promise.all([http.send(GET), http.send(GET), http.send(GET)]);
    expect(v.sent.filter((r) => r.path === '/auth')).toHaveLength(2);

    accepted = 'none';
    const error = await failure(http.send(GET));
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect((error as Error).message).toMatch(/millwright\/acme/);
    expect(v.sent.filter((r) => r.path === '/auth')).toHaveLength(3);
  });

  it('re-reads the credentials once when the login is refused, and keeps the password out of errors', async () => {
    const rotated = secret(['pw-stale-0', 'pw-right-1']);
    const v = sessionVendor('pw-right-1', () => true);
    expect((await client(sessionAuth(rotated.load), v.fetch).http.send(GET)).status).toBe(200);
    expect(rotated.reads).toEqual([false, true]);

    const wrong = secret(['pw-wrong-9']);
    const w = sessionVendor('pw-right-1', () => true);
    const error = await failure(client(sessionAuth(wrong.load), w.fetch).http.send(GET));
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect(wrong.reads).toEqual([false, true]);
    expect(w.sent.filter((r) => r.path === '/auth')).toHaveLength(1);
    expect((error as Error).message).not.toContain('pw-wrong-9');
  });
});
