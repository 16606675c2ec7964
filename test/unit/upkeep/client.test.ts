import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  connectUpKeep,
  UpKeepDowntimeError,
  UpKeepInputError,
  UpKeepPageLimitError,
  UpKeepPagingError,
} from '../../../functions/connectors/upkeep/client.ts';
import {
  AmbiguousWriteError,
  ConfigError,
  VendorHttpError,
  VendorResponseError,
} from '../../../functions/core/errors.ts';
import { callsTo, EMAIL, type Harness, makeEnv, PASSWORD, SECRET_NAME, startHarness } from './support.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sim.close();
});
beforeEach(() => {
  h.sim.reset();
  h.delays.length = 0;
});

const woPath = '/api/v2/work-orders';

describe('UpKeepClient session handling', () => {
  it('logs in once and reuses the session token for later calls', async () => {
    const client = h.client();
    await client.listWorkOrders();
    await client.getWorkOrder('nope000001');
    await client.createWorkOrder({ title: 'Check spindle' });
    expect(h.sim.authAttempts()).toBe(1);
    expect(
      h.sim
        .calls()
        .filter((c) => c.line !== 'POST /auth')
        .every((c) => c.authorized),
    ).toBe(true);
  });

  it('sends upkeep-version 2022-09-14 on every call, login included', async () => {
    const client = h.client();
    await client.listWorkOrders();
    await client.createWorkOrder({ title: 'Check spindle' });
    const versions = h.sim.calls().map((c) => c.version);
    expect(versions).toHaveLength(3);
    expect(new Set(versions)).toEqual(new Set(['2022-09-14']));
  });

  it('logs in again once, and retries the call once, after a 401 for an expired session', async () => {
    const client = h.client();
    await client.listWorkOrders();
    h.sim.expireTokens();
    const rows = await client.listWorkOrders();
    expect(rows).toEqual([]);
    expect(h.sim.authAttempts()).toBe(2);
    expect(callsTo(h.sim, 'GET /work-orders').map((c) => c.authorized)).toEqual([true, false, true]);
  });

  it('throws the second 401 instead of logging in again in a loop', async () => {
    const client = h.client();
    h.sim.faults.push({ match: `GET ${woPath}`, status: 401, times: 5 });
    const error = await client.listWorkOrders().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorHttpError);
    expect((error as VendorHttpError).status).toBe(401);
    expect(h.sim.authAttempts()).toBe(2);
    expect(h.sim.requests.filter((r) => r === `GET ${woPath}`)).toHaveLength(2);
  });

  it('retries a create once after a 401 (the vendor did not act on it)', async () => {
    const client = h.client();
    await client.listWorkOrders();
    h.sim.expireTokens();
    const wo = await client.createWorkOrder({ title: 'After re-login' });
    expect(h.sim.workOrders().map((w) => w.id)).toEqual([wo.id]);
  });
});

describe('UpKeepClient retries', () => {
  it('waits the Retry-After delay on a 429 before retrying', async () => {
    const client = h.client();
    await client.listWorkOrders();
    h.sim.faults.push({ match: `GET ${woPath}`, status: 429, retryAfterSeconds: 7 });
    await expect(client.listWorkOrders()).resolves.toEqual([]);
    expect(h.delays).toEqual([7000]);
  });

  it('retries a GET on 503 with backoff until it succeeds', async () => {
    const client = h.client();
    await client.listWorkOrders();
    h.sim.faults.push({ match: `GET ${woPath}`, status: 503, times: 2 });
    await expect(client.listWorkOrders()).resolves.toEqual([]);
    // random() = 0.5, base 200 ms: 0.5 * 200, then 0.5 * 400.
    expect(h.delays).toEqual([100, 200]);
    expect(h.sim.requests.filter((r) => r === `GET ${woPath}`)).toHaveLength(4);
  });

  it('turns a create that timed out after the write into AmbiguousWriteError without re-sending it', async () => {
    const client = h.client({ http: { timeoutMs: 150 } });
    await client.listWorkOrders();
    h.sim.faults.push({ match: `POST ${woPath}`, timeoutAfterWrite: true, delayMs: 5_000 });
    const error = await client
      .createWorkOrder({ title: 'Spindle overheating', asset: 'AssetMill01' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect(h.sim.workOrders()).toHaveLength(1);
    expect(callsTo(h.sim, 'POST /work-orders')).toHaveLength(1);
  });

  it('retries a PATCH that timed out after the write, because absolute values are safe to repeat', async () => {
    const client = h.client({ http: { timeoutMs: 150 } });
    const wo = await client.createWorkOrder({ title: 'Spindle overheating' });
    h.sim.faults.push({ match: `PATCH ${woPath}/`, timeoutAfterWrite: true, delayMs: 5_000 });
    const updated = await client.updateWorkOrder(wo.id, { status: 'inProgress' });
    expect(updated.status).toBe('inProgress');
    expect(callsTo(h.sim, `PATCH /work-orders/${wo.id}`)).toHaveLength(2);
  });
});

describe('UpKeepClient work orders', () => {
  it('creates a work order with only the documented fields and returns it parsed', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({
      title: 'Mill down',
      description: 'Spindle alarm',
      priority: 2,
      asset: 'AssetMill01',
      startDate: Date.parse('2026-11-02T07:50:00Z'),
    });
    expect(wo).toMatchObject({ title: 'Mill down', status: 'open', priority: 2, asset: 'AssetMill01' });
    expect(wo.id).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(wo.workOrderNo).toBe('001');
    expect(h.sim.workOrders()[0]?.startDate).toBe('2026-11-02T07:50:00.000Z');
  });

  it('coerces the string priority UpKeep returns on GET to a number', async () => {
    const client = h.client();
    const created = await client.createWorkOrder({ title: 'Lathe chatter', priority: 3 });
    const fetched = await client.getWorkOrder(created.id);
    expect(fetched?.priority).toBe(3);
  });

  it('normalises an expanded asset object to its id', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${woPath}/`,
      status: 200,
      body: {
        success: true,
        result: {
          id: 'WoExpand01',
          title: 't',
          status: 'open',
          priority: '1',
          asset: { id: 'AssetMill01', name: 'CNC Mill 01' },
          createdAt: '2026-11-02T08:00:00.000Z',
          updatedAt: '2026-11-02T08:00:00.000Z',
          somethingNew: { nested: true },
        },
      },
    });
    const wo = await client.getWorkOrder('WoExpand01');
    expect(wo).toEqual({
      id: 'WoExpand01',
      title: 't',
      status: 'open',
      priority: 1,
      asset: 'AssetMill01',
      createdAt: '2026-11-02T08:00:00.000Z',
      updatedAt: '2026-11-02T08:00:00.000Z',
    });
  });

  it('returns undefined for a work order UpKeep does not have (404)', async () => {
    await expect(h.client().getWorkOrder('Missing001')).resolves.toBeUndefined();
  });

  it('names the missing field when a response lacks one we rely on', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${woPath}/`,
      status: 200,
      body: { success: true, result: { id: 'WoBroken01', title: 't', status: 'open', createdAt: 'x' } },
    });
    const error = await client.getWorkOrder('WoBroken01').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorResponseError);
    expect((error as VendorResponseError).field).toBe('result.updatedAt');
    expect((error as Error).message).toContain('result.updatedAt');
  });

  it('names a numeric field that is not a number', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${woPath}`,
      status: 200,
      body: {
        success: true,
        results: [{ id: 'W1', title: 't', status: 'open', priority: 'high', createdAt: 'a', updatedAt: 'b' }],
      },
    });
    const error = await client.listWorkOrders().catch((e: unknown) => e);
    expect((error as VendorResponseError).field).toBe('results[0].priority');
  });

  it('updates a work order with absolute values', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Press leak', description: 'oil' });
    const updated = await client.updateWorkOrder(wo.id, {
      status: 'complete',
      description: null,
      priority: 1,
    });
    expect(updated).toMatchObject({ id: wo.id, status: 'complete', description: null, priority: 1 });
    expect(h.sim.workOrders()[0]).toMatchObject({ status: 'complete', description: null });
  });

  it('refuses input UpKeep would reject, before sending anything', async () => {
    const client = h.client();
    await expect(client.createWorkOrder({ title: '' })).rejects.toThrow(UpKeepInputError);
    await expect(client.createWorkOrder({ title: 'x', team: 'T1' } as never)).rejects.toThrow(/unknown key/);
    await expect(client.createWorkOrder({ title: 'x', priority: 7 as never })).rejects.toThrow(/priority/);
    await expect(client.updateWorkOrder('W1', { status: 'done' as never })).rejects.toThrow(/status/);
    await expect(client.listWorkOrders({ orderBy: 'priority DESC' })).rejects.toThrow(/orderBy/);
    expect(h.sim.calls()).toEqual([]);
  });
});

describe('UpKeepClient listing', () => {
  it('maps filters to the documented query names and never sends unknown keys', async () => {
    const client = h.client();
    await client.listWorkOrders({
      asset: 'AssetMill01',
      createdAtGte: 1_700_000_000_000,
      updatedAtGte: 1_700_000_000_001,
      orderBy: 'updatedAt ASC',
      team: 'T1',
      isComplete: '1',
    } as never);
    const [call] = callsTo(h.sim, 'GET /work-orders');
    expect(call?.query).toEqual({
      asset: ['AssetMill01'],
      createdAtGreaterThanOrEqualTo: ['1700000000000'],
      updatedAtGreaterThanOrEqualTo: ['1700000000001'],
      orderBy: ['updatedAt ASC'],
    });
  });

  it('filters by asset and creation time through the simulator', async () => {
    const client = h.client();
    await client.createWorkOrder({ title: 'old', asset: 'AssetMill01' });
    h.clock.advance(60_000);
    const fresh = await client.createWorkOrder({ title: 'new', asset: 'AssetMill01' });
    await client.createWorkOrder({ title: 'other', asset: 'AssetPress3' });
    const rows = await client.listWorkOrders({
      asset: 'AssetMill01',
      createdAtGte: Date.parse(fresh.createdAt),
    });
    expect(rows.map((r) => r.title)).toEqual(['new']);
  });

  it('pages with offset until a short page', async () => {
    const client = h.client();
    for (let i = 0; i < 5; i++) {
      await client.createWorkOrder({ title: `wo ${i}` });
      h.clock.advance(1_000);
    }
    const all = await client.listAllWorkOrders({ orderBy: 'createdAt ASC' }, { pageSize: 2 });
    expect(all.map((w) => w.title)).toEqual(['wo 0', 'wo 1', 'wo 2', 'wo 3', 'wo 4']);
    expect(callsTo(h.sim, 'GET /work-orders').map((c) => [c.query.offset?.[0], c.query.limit?.[0]])).toEqual([
      ['0', '2'],
      ['2', '2'],
      ['4', '2'],
    ]);
  });

  it('reads one empty page after an exactly full last page, then stops', async () => {
    const client = h.client();
    for (let i = 0; i < 4; i++) await client.createWorkOrder({ title: `wo ${i}` });
    const all = await client.listAllWorkOrders({}, { pageSize: 2 });
    expect(all).toHaveLength(4);
    expect(callsTo(h.sim, 'GET /work-orders')).toHaveLength(3);
  });

  it('stops at maxPages with UpKeepPageLimitError, or returns the rows read when asked to', async () => {
    const client = h.client();
    for (let i = 0; i < 5; i++) await client.createWorkOrder({ title: `wo ${i}` });
    await expect(client.listAllWorkOrders({}, { pageSize: 2, maxPages: 2 })).rejects.toThrow(
      UpKeepPageLimitError,
    );
    await expect(
      client.listAllWorkOrders({}, { pageSize: 2, maxPages: 2, onLimit: 'return' }),
    ).resolves.toHaveLength(4);
  });

  describe('when UpKeep answers 404 past the end', () => {
    let h404: Harness;
    beforeAll(async () => {
      h404 = await startHarness({ pastEndStatus: 404 });
    });
    afterAll(async () => {
      await h404.sim.close();
    });

    it('treats a 404 on a later page as the end of the list', async () => {
      const client = h404.client();
      for (let i = 0; i < 4; i++) await client.createWorkOrder({ title: `wo ${i}` });
      await expect(client.listAllWorkOrders({}, { pageSize: 2 })).resolves.toHaveLength(4);
      expect(h404.sim.requests.filter((r) => r === `GET ${woPath}`)).toHaveLength(3);
    });

    it("UPKEEP_PAST_END_404: a later-page 404 without UpKeep's error body is a retryable UpKeepPagingError, not the end", async () => {
      h404.sim.reset();
      const client404 = h404.client();
      for (let i = 0; i < 4; i++) await client404.createWorkOrder({ title: `wo ${i}` });
      const pastEnd = (body: string) =>
        h404.client({
          http: {
            fetch: async (input, init) => {
              const url = new URL(String(input instanceof Request ? input.url : input));
              if (url.pathname.endsWith('/work-orders') && url.searchParams.get('offset') === '2') {
                return new Response(body, { status: 404, headers: { 'content-type': 'application/json' } });
              }
              return fetch(input, init);
            },
          },
        });
      for (const body of ['', '{"message":"Not Found"}', '<html>Not Found</html>']) {
        // The page at offset 2 (full pages before it) answers a 404 that UpKeep's body does not carry.
        const client = pastEnd(body);
        const error = await client.listAllWorkOrders({}, { pageSize: 2 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UpKeepPagingError);
        expect(error).toMatchObject({ offset: 2, retryable: true });
        expect((error as Error).cause).toBeInstanceOf(VendorHttpError);
      }
      // UpKeep's own error body ends it, whatever its message: the simulator's "No work orders found"...
      await expect(client404.listAllWorkOrders({}, { pageSize: 2 })).resolves.toHaveLength(4);
      // ...or another text.
      await expect(
        pastEnd('{"success":false,"message":"Not Found"}').listAllWorkOrders({}, { pageSize: 2 }),
      ).resolves.toHaveLength(2);
    });

    it('still throws a 404 on the first page', async () => {
      h404.sim.faults.push({ match: `GET ${woPath}`, status: 404 });
      await expect(h404.client().listAllWorkOrders({}, { pageSize: 2 })).rejects.toThrow(VendorHttpError);
    });
  });
});

describe('UpKeepClient asset downtime', () => {
  it('reads an asset downtimeStatus: the status, a custom status id, none (optional in the doc), or no asset', async () => {
    const client = h.client();
    await expect(client.getAssetDowntimeStatus('AssetMill01')).resolves.toEqual({
      found: true,
      status: 'available',
    });
    h.sim.setAssetDowntimeStatus('AssetMill01', '651c18ebf37a21595c159a9c');
    await expect(client.getAssetDowntimeStatus('AssetMill01')).resolves.toEqual({
      found: true,
      status: '651c18ebf37a21595c159a9c',
    });
    h.sim.setAssetDowntimeStatus('AssetMill01', null);
    await expect(client.getAssetDowntimeStatus('AssetMill01')).resolves.toEqual({
      found: true,
      status: null,
    });
    h.sim.faults.push({
      match: 'GET /api/v2/assets/AssetLathe2',
      status: 200,
      body: { success: true, result: { id: 'AssetLathe2', downtimeStatus: null } },
    });
    await expect(client.getAssetDowntimeStatus('AssetLathe2')).resolves.toEqual({
      found: true,
      status: null,
    });
    await expect(client.getAssetDowntimeStatus('AssetNope99')).resolves.toEqual({ found: false });
  });

  it('throws VendorResponseError when downtimeStatus is present but not a status', async () => {
    const client = h.client();
    for (const downtimeStatus of [5, '', ['available']]) {
      h.sim.faults.push({
        match: 'GET /api/v2/assets/AssetMill01',
        status: 200,
        body: { success: true, result: { id: 'AssetMill01', downtimeStatus } },
      });
      const error = await client.getAssetDowntimeStatus('AssetMill01').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VendorResponseError);
      expect((error as VendorResponseError).field).toBe('result.downtimeStatus');
    }
  });

  it('records downtime rows and returns their results', async () => {
    const client = h.client();
    const rows = await client.recordAssetDowntime([
      { assetId: 'AssetMill01', status: 'not-available', recordedOn: '2026-11-02T07:50:00.000Z' },
      { assetId: 'AssetLathe2', status: 'not-available', recordedOn: Date.parse('2026-11-02T07:55:00Z') },
    ]);
    expect(rows.map((r) => [r.assetId, r.statusSlug])).toEqual([
      ['AssetMill01', 'insert-asset-activity-update'],
      ['AssetLathe2', 'insert-asset-activity-update'],
    ]);
    expect(h.sim.downtime().map((d) => [d.assetId, d.recordedOn])).toEqual([
      ['AssetMill01', '2026-11-02T07:50:00.000Z'],
      ['AssetLathe2', '2026-11-02T07:55:00.000Z'],
    ]);
    expect(h.sim.assets().find((a) => a.id === 'AssetMill01')?.downtimeStatus).toBe('not-available');
  });

  it('throws UpKeepDowntimeError naming the failing asset and slug when UpKeep says success: false', async () => {
    const client = h.client();
    const error = await client
      .recordAssetDowntime([
        { assetId: 'AssetNope99', status: 'available', recordedOn: '2026-11-02T08:00:00Z' },
        { assetId: 'AssetMill01', status: 'available', recordedOn: '2026-11-02T08:00:00Z' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpKeepDowntimeError);
    expect(error).toBeInstanceOf(VendorResponseError);
    const downtimeError = error as UpKeepDowntimeError;
    expect(downtimeError.message).toContain('AssetNope99');
    expect(downtimeError.message).toContain('asset-not-found');
    expect(downtimeError.failures.map((f) => f.assetId)).toEqual(['AssetNope99']);
    expect(downtimeError.recorded.map((r) => r.assetId)).toEqual(['AssetMill01']);
    // The good row was recorded: re-sending the batch would record it twice.
    expect(downtimeError.retryable).toBe(false);
  });

  it('reads row errors from a 400 answer too (the status of a partial failure is undocumented)', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: 'POST /api/v2/assets/downtime',
      status: 400,
      body: {
        success: false,
        results: [
          {
            assetId: 'AssetPress3',
            status: 'available',
            recordedOn: '2026-11-02T08:00:00Z',
            row: 1,
            errors: [{ message: 'Invalid recordedOn date', slug: 'invalid-recorded-on' }],
          },
        ],
      },
    });
    const error = await client
      .recordAssetDowntime([
        { assetId: 'AssetPress3', status: 'available', recordedOn: '2026-11-02T08:00:00Z' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpKeepDowntimeError);
    expect((error as Error).message).toMatch(/AssetPress3.*invalid-recorded-on/);
  });

  it('sends recordedOn as the documented String: ISO, or unix ms given as digits or as a number', async () => {
    const sent: unknown[] = [];
    const client = h.client({
      http: {
        fetch: async (input, init) => {
          if (String(input instanceof Request ? input.url : input).endsWith('/assets/downtime')) {
            sent.push(JSON.parse(String(init?.body)));
          }
          return fetch(input, init);
        },
      },
    });
    const ms = Date.parse('2026-11-02T07:55:00Z');
    await client.recordAssetDowntime([
      { assetId: 'AssetMill01', status: 'not-available', recordedOn: String(ms) },
      { assetId: 'AssetLathe2', status: 'not-available', recordedOn: ms },
    ]);
    expect(sent).toEqual([
      [
        expect.objectContaining({ recordedOn: String(ms) }),
        expect.objectContaining({ recordedOn: String(ms) }),
      ],
    ]);
    expect(h.sim.downtime().map((d) => d.recordedOn)).toEqual([
      '2026-11-02T07:55:00.000Z',
      '2026-11-02T07:55:00.000Z',
    ]);
  });

  it('refuses a recordedOn that is neither ISO 8601 nor unix ms before sending', async () => {
    const client = h.client();
    await expect(
      client.recordAssetDowntime([{ assetId: 'AssetMill01', status: 'available', recordedOn: 'not a date' }]),
    ).rejects.toThrow(/recordedOn/);
    await expect(client.recordAssetDowntime([])).rejects.toThrow(UpKeepInputError);
    expect(callsTo(h.sim, 'POST /assets/downtime')).toHaveLength(0);
  });
});

describe('UpKeepClient secrets', () => {
  it('never puts the password in an error, even when UpKeep echoes it', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: 'POST /api/v2/auth',
      status: 500,
      times: 10,
      body: { success: false, message: `login failed for ${EMAIL} with password ${PASSWORD}` },
    });
    const error = (await client.listWorkOrders().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(VendorHttpError);
    expect(error.message).toContain('[REDACTED]');
    expect(`${error.message}\n${error.stack}`).not.toContain(PASSWORD);
  });

  it('never puts the session token in an error, even when UpKeep echoes it', async () => {
    const client = h.client();
    await client.listWorkOrders();
    const [token] = h.sim.issuedTokens();
    h.sim.faults.push({
      match: `GET ${woPath}`,
      status: 400,
      body: { success: false, message: `bad token ${token}` },
    });
    const error = (await client.listWorkOrders().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(VendorHttpError);
    expect(token).toBeDefined();
    expect(`${error.message}\n${error.stack}`).not.toContain(token as string);
  });
});

describe('connectUpKeep', () => {
  it('fails on a bad vendor config naming vendors.upkeep.<field>', () => {
    const { env } = makeEnv({ vendors: { upkeep: { secretName: '', baseUrl: 'not a url' } } });
    expect(() => connectUpKeep(env)).toThrow(ConfigError);
    expect(() => connectUpKeep(env)).toThrow(/vendors\.upkeep\.(secretName|baseUrl)/);
    const missing = makeEnv({ vendors: {} });
    expect(() => connectUpKeep(missing.env)).toThrow(/vendors\.upkeep/);
  });

  it('applies the per-attempt timeout from vendors.upkeep.timeoutMs', async () => {
    const { env } = makeEnv({
      vendors: { upkeep: { secretName: SECRET_NAME, baseUrl: h.sim.baseUrl, timeoutMs: 150 } },
    });
    const client = connectUpKeep(env, { http: { sleep: async () => {} } });
    await client.listWorkOrders();
    h.sim.faults.push({ match: `POST ${woPath}`, timeoutAfterWrite: true, delayMs: 5_000 });
    const error = (await client
      .createWorkOrder({ title: 'x' })
      .catch((e: unknown) => e)) as AmbiguousWriteError;
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    // Our 150 ms timeout fired, not the simulator dropping the socket after 5 s.
    expect((error.cause as Error).name).toBe('TimeoutError');
  });

  it('reads nothing until the first call, then reads the secret named in the config', async () => {
    const { env, secrets } = makeEnv({
      vendors: { upkeep: { secretName: SECRET_NAME, baseUrl: h.sim.baseUrl } },
    });
    const client = connectUpKeep(env);
    expect(client.config).toEqual({
      baseUrl: h.sim.baseUrl,
      secretName: SECRET_NAME,
      apiVersion: '2022-09-14',
      tokenRefreshMarginSeconds: 3600,
    });
    expect(secrets.reads).toEqual([]);
    expect(h.sim.calls()).toEqual([]);
    await client.listWorkOrders();
    expect(secrets.reads).toEqual([{ name: SECRET_NAME, refresh: false }]);
  });
});
