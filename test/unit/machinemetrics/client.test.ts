import { describe, expect, it } from '@jest/globals';
import {
  connectMachineMetrics,
  MachineMetricsClient,
  normaliseDowntimeReport,
} from '../../../functions/connectors/machinemetrics/client.ts';
import { downtimeReportResponseSchema } from '../../../functions/connectors/machinemetrics/schemas.ts';
import { ConfigError, VendorHttpError, VendorResponseError } from '../../../functions/core/errors.ts';
import {
  DOC_DOWNTIME_RESPONSE,
  MACHINE_1,
  MACHINE_2,
  MACHINE_3,
  mutableSecrets,
  queuedFetch,
  SECRET_NAME,
  testEnv,
} from './fixtures.ts';

const KEY = 'mm-key-0123456789';
const noSleep = async () => {};

function client(
  responses: { status: number; body: unknown }[],
  secrets = mutableSecrets({ [SECRET_NAME]: { apiKey: KEY } }),
) {
  const fake = queuedFetch(responses);
  const sleeps: number[] = [];
  const c = new MachineMetricsClient({
    baseUrl: 'https://mm.example.test',
    secretName: SECRET_NAME,
    secrets: secrets.source,
    http: {
      fetch: fake.fetch,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    },
  });
  return { client: c, calls: fake.calls, sleeps, secrets };
}

const query = {
  start: new Date('2017-07-19T10:00:00Z'),
  end: new Date('2017-08-19T10:00:00Z'),
  groupBy: ['reason', 'machine'] as const,
  machines: [MACHINE_1, MACHINE_2, MACHINE_3],
};

describe('MachineMetricsClient.downtimeReport', () => {
  it('posts the documented query with Bearer auth and ISO Z timestamps', async () => {
    const { client: c, calls } = client([{ status: 200, body: DOC_DOWNTIME_RESPONSE }]);
    await c.downtimeReport(query);
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call?.url).toBe('https://mm.example.test/reports/downtime');
    expect(call?.method).toBe('POST');
    expect(call?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.body).toEqual({
      start: '2017-07-19T10:00:00.000Z',
      end: '2017-08-19T10:00:00.000Z',
      groupBy: [{ group: 'reason' }, { group: 'machine' }],
      filter: { machine: [MACHINE_1, MACHINE_2, MACHINE_3] },
    });
  });

  it('omits the filter when no machines are given (all machines)', async () => {
    const { client: c, calls } = client([{ status: 200, body: DOC_DOWNTIME_RESPONSE }]);
    await c.downtimeReport({ ...query, machines: undefined });
    expect(calls[0]?.body).not.toHaveProperty('filter');
  });

  it("normalises the doc's reason→machine sample into per-machine totals with string reason ids", async () => {
    const { client: c } = client([{ status: 200, body: DOC_DOWNTIME_RESPONSE }]);
    const report = await c.downtimeReport(query);
    expect(report).toEqual({
      range: { start: '2017-07-19T10:00:00.000Z', end: '2017-08-19T10:00:00.000Z' },
      machines: {
        [MACHINE_1]: {
          name: 'MACHINE 1',
          downtimeMs: 544259,
          reasons: { '33': { name: 'Chipping Out', downtimeMs: 544259, virtual: false } },
        },
        [MACHINE_2]: {
          name: 'MACHINE 2',
          downtimeMs: 837607,
          reasons: { '33': { name: 'Chipping Out', downtimeMs: 837607, virtual: false } },
        },
        [MACHINE_3]: {
          name: 'MACHINE 3',
          downtimeMs: 350032 + 5912801,
          reasons: {
            '33': { name: 'Chipping Out', downtimeMs: 350032, virtual: false },
            '95': { name: 'Part Changeover', downtimeMs: 5912801, virtual: false },
          },
        },
      },
    });
  });

  it('normalises the machine→reason nesting too, marks virtual reasons and leaves absent machines out', () => {
    const machineFirst = {
      ...DOC_DOWNTIME_RESPONSE,
      items: [
        {
          entity: { type: 'machine', id: MACHINE_3 },
          aggregate: { downtimeMs: 6000, recordCount: 2 },
          items: [
            { entity: { type: 'reason', id: '95' }, aggregate: { downtimeMs: 4000, recordCount: 1 } },
            {
              entity: { type: 'reason', id: 'uncategorized' },
              aggregate: { downtimeMs: 2000, recordCount: 1 },
            },
          ],
        },
      ],
    };
    const report = normaliseDowntimeReport(downtimeReportResponseSchema.parse(machineFirst));
    expect(Object.keys(report.machines)).toEqual([MACHINE_3]);
    expect(report.machines[MACHINE_3]).toEqual({
      name: 'MACHINE 3',
      downtimeMs: 6000,
      reasons: {
        '95': { name: 'Part Changeover', downtimeMs: 4000, virtual: false },
        uncategorized: { name: 'Uncategorized', downtimeMs: 2000, virtual: true },
      },
    });
  });

  it('leaves out a machine whose row does not parse, naming it and the field; the others are kept', async () => {
    const broken = structuredClone(DOC_DOWNTIME_RESPONSE) as { items: { items: { aggregate: unknown }[] }[] };
    const leaf = broken.items[0]?.items[1];
    if (leaf) leaf.aggregate = { downtimeMs: '837607', recordCount: 1 };
    const { client: c } = client([{ status: 200, body: broken }]);
    const report = await c.downtimeReport(query);
    // MACHINE_2 is unknown for this report (not "no downtime"); MACHINE_1 and MACHINE_3 are read.
    expect(Object.keys(report.machines).sort()).toEqual([MACHINE_1, MACHINE_3].sort());
    expect(report.machines[MACHINE_3]?.downtimeMs).toBe(350032 + 5912801);
    expect(report.skipped).toEqual([
      {
        record: MACHINE_2,
        field: 'items[0].items[1].aggregate.downtimeMs',
        message: 'expected number (got "837607")',
      },
    ]);
  });

  it('fails the whole report on a row it cannot tie to a machine (any machine could be under it)', async () => {
    const broken = structuredClone(DOC_DOWNTIME_RESPONSE) as { items: { entity: unknown }[] };
    const top = broken.items[0];
    if (top) top.entity = { type: 'reason' };
    const { client: c } = client([{ status: 200, body: broken }]);
    const error = await c.downtimeReport(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorResponseError);
    expect((error as VendorResponseError).field).toBe('items[0].entity.id');
  });

  it('names a machine or reason by its id when its entry in entities does not parse', () => {
    const odd = structuredClone(DOC_DOWNTIME_RESPONSE) as {
      entities: { machine: Record<string, unknown>; reason: Record<string, unknown> };
    };
    odd.entities.machine[MACHINE_1] = { id: MACHINE_1, name: 42 };
    odd.entities.reason['33'] = 'Chipping Out';
    const report = normaliseDowntimeReport(downtimeReportResponseSchema.parse(odd));
    expect(report.skipped).toBeUndefined();
    expect(report.machines[MACHINE_1]).toEqual({
      name: MACHINE_1,
      downtimeMs: 544259,
      reasons: { '33': { name: '33', downtimeMs: 544259, virtual: false } },
    });
  });

  it('reads a report without the top-level aggregate (nothing uses the company total)', async () => {
    const { aggregate: _aggregate, ...withoutAggregate } = DOC_DOWNTIME_RESPONSE;
    const { client: c } = client([{ status: 200, body: withoutAggregate }]);
    const report = await c.downtimeReport(query);
    expect(report.machines[MACHINE_3]?.downtimeMs).toBe(350032 + 5912801);
  });

  it('refuses a body without items instead of reading it as "no downtime"', async () => {
    const { items: _items, ...withoutItems } = DOC_DOWNTIME_RESPONSE;
    const { client: c } = client([{ status: 200, body: withoutItems }]);
    await expect(c.downtimeReport(query)).rejects.toMatchObject({
      name: 'VendorResponseError',
      field: 'items',
    });
  });

  it('retries a 503 with the injected sleep and returns the 200 that follows', async () => {
    const {
      client: c,
      calls,
      sleeps,
    } = client([
      { status: 503, body: { message: 'unavailable' } },
      { status: 200, body: DOC_DOWNTIME_RESPONSE },
    ]);
    const report = await c.downtimeReport(query);
    expect(calls).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(report.machines[MACHINE_1]?.downtimeMs).toBe(544259);
  });

  it('re-reads the secret once with refresh after a 401 and retries with the rotated key', async () => {
    // Like the Powertools cache: a normal read answers the cached (stale) key, a refresh the new one.
    const reads: boolean[] = [];
    const secrets = {
      source: {
        async getJson(_name: string, options?: { refresh?: boolean }) {
          reads.push(options?.refresh ?? false);
          return { apiKey: options?.refresh ? 'mm-key-rotated-999' : KEY };
        },
      },
      reads: [],
      set: () => undefined,
    };
    const { client: c, calls } = client(
      [
        {
          status: 401,
          body: { error: 'invalid_token', error_description: 'Invalid token: access token is invalid' },
        },
        { status: 200, body: DOC_DOWNTIME_RESPONSE },
      ],
      secrets,
    );
    const report = await c.downtimeReport(query);
    expect(report.machines[MACHINE_2]?.downtimeMs).toBe(837607);
    expect(calls.map((call) => call.headers.authorization)).toEqual([
      `Bearer ${KEY}`,
      'Bearer mm-key-rotated-999',
    ]);
    expect(reads).toEqual([false, true]);
  });

  it('throws on a second 401 without looping and keeps the key out of the error', async () => {
    const unauthorized = { status: 401, body: { error: 'invalid_token', error_description: `bad ${KEY}` } };
    const { client: c, calls, secrets } = client([unauthorized, unauthorized, unauthorized]);
    const error = await c.downtimeReport(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorHttpError);
    expect((error as VendorHttpError).status).toBe(401);
    expect(calls).toHaveLength(2);
    expect(secrets.reads.map((r) => r.refresh)).toEqual([false, true]);
    expect(String((error as Error).message)).not.toContain(KEY);
  });

  it('reads the key once and reuses it for later calls', async () => {
    const { client: c, secrets } = client([
      { status: 200, body: DOC_DOWNTIME_RESPONSE },
      { status: 200, body: DOC_DOWNTIME_RESPONSE },
    ]);
    await c.downtimeReport(query);
    await c.downtimeReport(query);
    expect(secrets.reads).toHaveLength(1);
  });
});

describe('connectMachineMetrics', () => {
  it('names the bad config field with its full path', () => {
    const env = testEnv({ vendors: { machinemetrics: { baseUrl: 'https://api.machinemetrics.com' } } });
    expect(() => connectMachineMetrics(env)).toThrow(ConfigError);
    expect(() => connectMachineMetrics(env)).toThrow(/vendors\.machinemetrics\.secretName/);
  });

  it('does no I/O when it builds the client (safe at module scope)', () => {
    const secrets = mutableSecrets({ [SECRET_NAME]: { apiKey: KEY } });
    const env = testEnv({
      vendors: { machinemetrics: { secretName: SECRET_NAME } },
      secrets: secrets.source,
    });
    const c = connectMachineMetrics(env, { http: { sleep: noSleep } });
    expect(c).toBeInstanceOf(MachineMetricsClient);
    expect(secrets.reads).toHaveLength(0);
  });

  it('rejects a missing machinemetrics section with a ConfigError', () => {
    expect(() => connectMachineMetrics(testEnv({ vendors: {} }))).toThrow(/vendors\.machinemetrics/);
  });
});
