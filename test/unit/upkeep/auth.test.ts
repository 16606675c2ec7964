import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { UpKeepSessionProvider } from '../../../functions/connectors/upkeep/auth.ts';
import { VendorHttpError, VendorResponseError } from '../../../functions/core/errors.ts';
import { HttpClient } from '../../../functions/core/http.ts';
import { EMAIL, type Harness, PASSWORD, SECRET_NAME, startHarness, upkeepSecret } from './support.ts';

const HOUR = 3_600_000;

describe('UpKeep session tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    // Tokens live 3 hours; the default margin is 1 hour, so a re-login is due after 2 hours.
    h = await startHarness({ tokenTtlMs: 3 * HOUR });
  });
  afterAll(async () => {
    await h.sim.close();
  });
  beforeEach(() => {
    h.sim.reset();
    h.secrets.values[SECRET_NAME] = upkeepSecret();
    h.secrets.reads.length = 0;
  });

  it('keeps using the cached token until expiresAt minus the margin, then logs in again', async () => {
    const client = h.client();
    await client.listWorkOrders();
    const first = client.session.session;
    expect(first?.expiresAt.toISOString()).toBe(new Date(h.clock.now().getTime() + 3 * HOUR).toISOString());

    h.clock.advance(2 * HOUR - 1);
    await client.listWorkOrders();
    expect(h.sim.logins()).toBe(1);

    h.clock.advance(1);
    await client.listWorkOrders();
    expect(h.sim.logins()).toBe(2);
    expect(client.session.session?.sessionToken).not.toBe(first?.sessionToken);
  });

  it('shares one login between concurrent callers', async () => {
    const client = h.client();
    await Promise.all([
      client.listWorkOrders(),
      client.getWorkOrder('W000000001'),
      client.listWorkOrders({ status: 'open' }),
      client.session.getToken(),
    ]);
    expect(h.sim.authAttempts()).toBe(1);
  });

  it('logs in once for several concurrent calls rejected with the same expired token', async () => {
    const client = h.client();
    await client.listWorkOrders();
    h.sim.expireTokens();
    await Promise.all([client.listWorkOrders(), client.listWorkOrders(), client.listWorkOrders()]);
    expect(h.sim.authAttempts()).toBe(2);
  });

  it('posts email and password as JSON to /auth', async () => {
    const client = h.client();
    await client.session.getToken();
    expect(h.sim.calls()[0]?.line).toBe('POST /auth');
    expect(h.sim.logins()).toBe(1);
  });

  it('re-reads the secret once with refresh when the login is rejected, and uses a rotated password', async () => {
    // The cached secret is stale: the first read returns the old password.
    h.secrets.values[SECRET_NAME] = upkeepSecret({ password: 'old-password-before-rotation' });
    const client = h.client();
    const original = h.secrets.source.getJson.bind(h.secrets.source);
    let calls = 0;
    h.secrets.source.getJson = async (name, options) => {
      calls++;
      if (calls === 2) h.secrets.values[SECRET_NAME] = upkeepSecret();
      return original(name, options);
    };
    try {
      await expect(client.session.getToken()).resolves.toMatch(/^r:/);
    } finally {
      h.secrets.source.getJson = original;
    }
    expect(h.secrets.reads).toEqual([
      { name: SECRET_NAME, refresh: false },
      { name: SECRET_NAME, refresh: true },
    ]);
    expect(h.sim.authAttempts()).toBe(2);
  });

  it('gives up after one refreshed read when the credentials are simply wrong', async () => {
    h.secrets.values[SECRET_NAME] = upkeepSecret({ password: 'wrong-password-123' });
    const client = h.client();
    const error = await client.listWorkOrders().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorHttpError);
    expect((error as VendorHttpError).status).toBe(401);
    expect((error as VendorHttpError).retryable).toBe(false);
    expect(h.secrets.reads.map((r) => r.refresh)).toEqual([false, true]);
    expect(h.sim.authAttempts()).toBe(1);
    expect((error as Error).message).not.toContain('wrong-password-123');
  });

  it('forgets a rejected token but keeps a newer one another caller already fetched', async () => {
    const client = h.client();
    const old = await client.session.getToken();
    client.session.invalidate(old);
    const fresh = await client.session.getToken();
    client.session.invalidate(old);
    expect(client.session.session?.sessionToken).toBe(fresh);
    client.session.invalidate();
    expect(client.session.session).toBeUndefined();
  });
});

describe('UpKeepSessionProvider with a stub transport', () => {
  const stubFetch = (body: unknown) => async () => new Response(JSON.stringify(body), { status: 200 });
  const provider = (body: unknown, options: { now?: () => Date; marginMs?: number } = {}) =>
    new UpKeepSessionProvider({
      http: new HttpClient({
        vendor: 'upkeep',
        baseUrl: 'http://upkeep.test/api/v2',
        fetch: stubFetch(body),
      }),
      loadCredentials: async () => ({ email: EMAIL, password: PASSWORD }),
      refreshMarginMs: options.marginMs ?? HOUR,
      now: options.now,
    });

  it('caps the margin at half the lifetime so a short-lived token is not refreshed on every call', async () => {
    let now = Date.parse('2026-11-02T08:00:00.000Z');
    const p = provider(
      { success: true, result: { sessionToken: 'r:short', expiresAt: '2026-11-02T08:10:00.000Z' } },
      { now: () => new Date(now) },
    );
    await p.getToken();
    expect(p.session?.refreshAt.toISOString()).toBe('2026-11-02T08:05:00.000Z');
    now += 4 * 60_000;
    await p.getToken();
    expect(p.logins).toBe(1);
  });

  it('rejects a login response whose expiresAt is not a date, naming the field', async () => {
    const p = provider({ success: true, result: { sessionToken: 'r:x', expiresAt: 'tomorrow' } });
    const error = await p.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorResponseError);
    expect((error as VendorResponseError).field).toBe('result.expiresAt');
  });

  it('rejects a login response without a session token, naming the field', async () => {
    const p = provider({ success: true, result: { expiresAt: '2026-11-03T00:00:00.000Z' } });
    await expect(p.getToken()).rejects.toThrow(/result\.sessionToken/);
  });
});
