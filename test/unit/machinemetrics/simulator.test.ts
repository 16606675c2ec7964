import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_STARTED,
} from '../../../functions/connectors/machinemetrics/events.ts';
import {
  ASSUMED_CSV_EXPIRY_MS,
  ASSUMED_NO_SHIFT,
  aggregateDowntime,
  createMachineMetricsWorld,
  FLATTEN_ANSWERS_NESTED,
  type MachineMetricsSimulator,
  markMachineDown,
  markMachineUp,
  type SimDowntimeReport,
  startMachineMetricsSimulator,
  type ValidationIssue,
} from '../../../functions/connectors/machinemetrics/simulator/index.ts';
import { machineMetricsWebhook } from '../../../functions/connectors/machinemetrics/webhook.ts';
import type { FlowEvent } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { MACHINE_1, MACHINE_2, MACHINE_3, mutableSecrets, SECRET_NAME, testEnv } from './fixtures.ts';

const API_KEY = 'sim-api-key-1234';
const clock = manualClock('2026-11-02T08:00:00.000Z');
let sim: MachineMetricsSimulator;

beforeAll(async () => {
  sim = await startMachineMetricsSimulator({ clock, apiKey: API_KEY });
  sim.down(MACHINE_1, { at: new Date('2026-11-02T07:50:00Z'), reasonId: 33 });
  sim.up(MACHINE_1, { at: new Date('2026-11-02T08:10:00Z') });
  sim.down(MACHINE_2, { at: new Date('2026-11-02T08:00:00Z') });
  clock.advance(7 * 60_000); // 08:07; machine 2 still down
});

afterAll(async () => {
  await sim.close();
});

/** What the report endpoint may answer: a report, a validation error or a token error. */
type ReportBody = SimDowntimeReport & {
  code?: string;
  message?: string;
  errors: ValidationIssue[];
  error?: string;
};

async function report(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${sim.url}/reports/downtime`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as ReportBody };
}

describe('MachineMetrics simulator: POST /reports/downtime', () => {
  it('clips closed records to [start, end)', async () => {
    const inside = await report({
      start: '2026-11-02T08:00:00Z',
      end: '2026-11-02T08:05:00Z',
      filter: { machine: [MACHINE_1] },
    });
    expect(inside.status).toBe(200);
    expect(inside.body.aggregate).toEqual({ downtimeMs: 300_000, recordCount: 1 });
    const around = await report({
      start: '2026-11-02T07:00:00Z',
      end: '2026-11-02T09:00:00Z',
      filter: { machine: [MACHINE_1] },
    });
    expect(around.body.aggregate.downtimeMs).toBe(20 * 60_000);
  });

  it('counts an open record only up to the simulated now', async () => {
    const { body } = await report({
      start: '2026-11-02T07:00:00Z',
      end: '2026-11-02T09:00:00Z',
      filter: { machine: [MACHINE_2] },
    });
    expect(body.aggregate.downtimeMs).toBe(7 * 60_000);
  });

  it('answers in the vendor shape: range, entities, items nested in groupBy order with string ids', async () => {
    const { body } = await report({
      start: '2026-11-02T07:55:00Z',
      end: '2026-11-02T08:05:00Z',
      groupBy: [{ group: 'reason' }, { group: 'machine' }],
    });
    expect(body.range).toEqual({ start: '2026-11-02T07:55:00.000Z', end: '2026-11-02T08:05:00.000Z' });
    expect(body.aggregate).toEqual({ downtimeMs: 600_000 + 300_000, recordCount: 2 });
    expect(body.entities.reason?.['33']).toEqual({ id: 33, name: 'Chipping Out', color: '#dea638' });
    expect(body.entities.reason?.uncategorized).toMatchObject({ id: 'uncategorized', virtual: true });
    expect(Object.keys(body.entities.machine ?? {})).toEqual([MACHINE_1, MACHINE_2, MACHINE_3]);
    const byReason = Object.fromEntries(body.items.map((item) => [item.entity.id, item]));
    expect(byReason['33']).toEqual({
      entity: { type: 'reason', id: '33' },
      aggregate: { downtimeMs: 600_000, recordCount: 1 },
      items: [
        { entity: { type: 'machine', id: MACHINE_1 }, aggregate: { downtimeMs: 600_000, recordCount: 1 } },
      ],
    });
    expect(byReason.uncategorized?.items).toEqual([
      { entity: { type: 'machine', id: MACHINE_2 }, aggregate: { downtimeMs: 300_000, recordCount: 1 } },
    ]);
    // MACHINE 3 had no downtime: listed in entities, absent from items.
    expect(JSON.stringify(body.items)).not.toContain(MACHINE_3);
  });

  it('splits day buckets from the query start with ordinal ids', () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_3, { at: new Date('2026-11-02T09:00:00Z') });
    markMachineUp(world, MACHINE_3, { at: new Date('2026-11-02T11:00:00Z') });
    const out = aggregateDowntime(
      world,
      { start: new Date('2026-11-01T10:00:00Z'), end: new Date('2026-11-03T10:00:00Z'), groupBy: ['day'] },
      new Date('2026-11-04T00:00:00Z'),
    );
    expect(out.items.map((i) => [i.entity.id, i.aggregate.downtimeMs])).toEqual([
      ['0', 3_600_000],
      ['1', 3_600_000],
    ]);
    expect(out.entities.day?.['1']).toEqual({
      start: '2026-11-02T10:00:00.000Z',
      end: '2026-11-03T10:00:00.000Z',
      shopDate: '2026-11-02T10:00:00.000Z',
    });
  });

  it('answers 401 invalid_token for a missing or wrong key', async () => {
    const expected = { error: 'invalid_token', error_description: 'Invalid token: access token is invalid' };
    const body = { start: '2026-11-02T08:00:00Z', end: '2026-11-02T08:05:00Z' };
    const wrong = await report(body, { authorization: 'Bearer nope' });
    expect(wrong).toEqual({ status: 401, body: expected });
    const missing = await fetch(`${sim.url}/reports/downtime`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(missing.status).toBe(401);
  });

  it('reads the Bearer scheme case-insensitively (RFC 7235), the key exactly', async () => {
    const body = { start: '2026-11-02T08:00:00Z', end: '2026-11-02T08:05:00Z' };
    expect((await report(body, { authorization: `bearer ${API_KEY}` })).status).toBe(200);
    expect((await report(body, { authorization: `BEARER ${API_KEY}` })).status).toBe(200);
    expect((await report(body, { authorization: `Bearer ${API_KEY.toUpperCase()}` })).status).toBe(401);
    expect((await report(body, { authorization: `Basic ${API_KEY}` })).status).toBe(401);
  });

  it('accepts a rotated key and refuses the old one', async () => {
    sim.setApiKey('sim-api-key-rotated');
    try {
      const body = { start: '2026-11-02T08:00:00Z', end: '2026-11-02T08:05:00Z' };
      expect((await report(body)).status).toBe(401);
      expect((await report(body, { authorization: 'Bearer sim-api-key-rotated' })).status).toBe(200);
    } finally {
      sim.setApiKey(API_KEY);
    }
  });

  it('answers 400 ValidationError naming each bad field', async () => {
    const { status, body } = await report({
      start: '2026-11-02T08:05:00Z',
      end: '2026-11-02T08:00:00Z',
      groupBy: [{ group: 'machine' }, { group: 'planet' }],
      filter: { machine: MACHINE_1 },
    });
    expect(status).toBe(400);
    expect(body.code).toBe('ValidationError');
    expect(body.message).toBe('Validation Error');
    expect(body.errors.map((e) => e.field).sort()).toEqual(['filter.machine', 'groupBy[1].group', 'start']);
    const missing = await report({ end: 'not a date' });
    expect(missing.body.errors.map((e) => `${e.field}:${e.code}`)).toEqual([
      'start:Required',
      'end:InvalidDateTime',
    ]);
  });

  it('answers 400 "Problem parsing JSON" for a body that is not JSON', async () => {
    expect(await report('{oops')).toEqual({ status: 400, body: { message: 'Problem parsing JSON' } });
  });

  it('applies queued faults to report requests', async () => {
    sim.faults.push({ match: 'POST /reports/downtime', status: 503 });
    const { status } = await report({ start: '2026-11-02T08:00:00Z', end: '2026-11-02T08:05:00Z' });
    expect(status).toBe(503);
  });
});

const WINDOW = { start: '2026-11-02T08:00:00Z', end: '2026-11-02T08:05:00Z' };

describe('MachineMetrics simulator: the request contract (Downtime Query Object)', () => {
  it.each([
    ['start is required', { end: WINDOW.end }, 'start:Required'],
    ['end is required', { start: WINDOW.start }, 'end:Required'],
    ['start is an ISO 8601 date-time', { ...WINDOW, start: '2026-11-02' }, 'start:InvalidDateTime'],
    ['end is an ISO 8601 date-time', { ...WINDOW, end: 1_700_000_000_000 }, 'end:InvalidDateTime'],
    ['start is before end', { start: WINDOW.end, end: WINDOW.start }, 'start:InvalidRange'],
    ['groupBy is an array', { ...WINDOW, groupBy: { group: 'machine' } }, 'groupBy:InvalidType'],
    [
      'a group is a documented one',
      { ...WINDOW, groupBy: [{ group: 'planet' }] },
      'groupBy[0].group:InvalidGroup',
    ],
    ['filter is an object', { ...WINDOW, filter: [MACHINE_1] }, 'filter:InvalidType'],
    [
      'a filter holds an array of ids',
      { ...WINDOW, filter: { machine: MACHINE_1 } },
      'filter.machine:InvalidType',
    ],
    ['csv is a boolean', { ...WINDOW, csv: 'yes' }, 'csv:InvalidType'],
    ['flatten is a boolean', { ...WINDOW, flatten: 1 }, 'flatten:InvalidType'],
    [
      'an unmodelled non-empty filter is refused, not ignored',
      { ...WINDOW, filter: { shift: ['s1'] } },
      'filter.shift:NotSimulated',
    ],
    [
      'numeric ids are ids (the doc shows reason "id": 33); only the unmodelled filter is refused',
      { ...WINDOW, filter: { reason: [33, 'uncategorized'] } },
      'filter.reason:NotSimulated',
    ],
  ])('400: %s', async (_rule, body, error) => {
    const res = await report(body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e) => `${e.field}:${e.code}`)).toEqual([error]);
  });

  it('accepts the optional fields absent, empty filter arrays (no filtering) and false flags', async () => {
    const bare = await report(WINDOW);
    expect(bare.status).toBe(200);
    const empty = await report({
      ...WINDOW,
      groupBy: [],
      filter: { machine: [], shift: [] },
      csv: false,
      flatten: false,
    });
    expect(empty.status).toBe(200);
    expect(empty.body.aggregate).toEqual(bare.body.aggregate);
  });

  it('compares filter ids as strings: a numeric machine id is a (here unknown) id, not an error', async () => {
    const res = await report({ ...WINDOW, groupBy: [{ group: 'machine' }], filter: { machine: [12345] } });
    expect(res.status).toBe(200);
    expect(res.body.aggregate).toEqual({ downtimeMs: 0, recordCount: 0 });
  });

  it('answers groupBy shift with one ASSUMED_NO_SHIFT bucket (the simulated company has no shifts)', async () => {
    const res = await report({ ...WINDOW, groupBy: [{ group: 'shift' }, { group: 'machine' }] });
    expect(res.status).toBe(200);
    expect(res.body.entities.shift).toEqual({ [ASSUMED_NO_SHIFT.id]: { id: 'no-shift', name: 'No Shift' } });
    expect(res.body.items.map((i) => i.entity)).toEqual([{ type: 'shift', id: 'no-shift' }]);
    expect(res.body.items[0]?.aggregate).toEqual(res.body.aggregate);
  });

  it('accepts flatten: true and answers the nested shape (FLATTEN_ANSWERS_NESTED)', async () => {
    const groupBy = [{ group: 'machine' }, { group: 'reason' }];
    const nested = await report({ ...WINDOW, groupBy });
    const flat = await report({ ...WINDOW, groupBy, flatten: true });
    expect(FLATTEN_ANSWERS_NESTED).toBe(true);
    expect(flat).toEqual(nested);
  });

  it('accepts csv: true: the report plus csv {url, expires}, downloadable with the /user-token JWT', async () => {
    const groupBy = [{ group: 'machine' }];
    const plain = await report({ ...WINDOW, groupBy });
    const res = await report({ ...WINDOW, groupBy, csv: true });
    expect(res.status).toBe(200);
    const { csv, ...rest } = res.body as ReportBody & { csv: { url: string; expires: string } };
    expect(rest).toEqual(plain.body);
    expect(csv.url).toMatch(new RegExp(`^${sim.url}/csv/downtime/\\d+$`));
    expect(csv.expires).toBe(new Date(clock.now().getTime() + ASSUMED_CSV_EXPIRY_MS).toISOString());

    const tokenRes = await fetch(`${sim.url}/user-token`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(tokenRes.status).toBe(200);
    const jwt = (await tokenRes.json()) as string;
    expect(jwt.split('.')).toHaveLength(3);
    const download = await fetch(`${csv.url}?token=${jwt}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('text/csv');
    const lines = (await download.text()).trim().split('\n');
    expect(lines[0]).toBe('machine,downtimeMs,recordCount');
    expect(lines.slice(1)).toEqual(
      plain.body.items.map((i) => `${i.entity.id},${i.aggregate.downtimeMs},${i.aggregate.recordCount}`),
    );
    expect((await fetch(`${csv.url}?token=not-the-jwt`)).status).toBe(401);
    expect((await fetch(`${sim.url}/csv/downtime/999999?token=${jwt}`)).status).toBe(404);
  });

  it('requires a JSON body (application/json)', async () => {
    const res = await report(WINDOW, { 'content-type': 'text/plain' });
    expect(res).toEqual({ status: 400, body: { message: 'Problem parsing JSON' } });
  });
});

describe('MachineMetrics simulator: control API', () => {
  const control = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${sim.url}/_sandbox/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('records down, categorize and up, and shows them in /_sandbox/state', async () => {
    const down = await control(`machines/${MACHINE_3}/down`, { at: '2026-11-02T08:01:00Z' });
    expect(down).toEqual({
      status: 200,
      body: { machineId: MACHINE_3, start: '2026-11-02T08:01:00.000Z', end: null, reasonId: 'uncategorized' },
    });
    expect((await control(`machines/${MACHINE_3}/categorize`, { reasonId: 95 })).body.reasonId).toBe('95');
    expect((await control(`machines/${MACHINE_3}/up`)).body.end).toBe(clock.now().toISOString());
    const state = (await (await fetch(`${sim.url}/_sandbox/state`)).json()) as { records: unknown[] };
    expect(state.records).toContainEqual({
      machineId: MACHINE_3,
      start: '2026-11-02T08:01:00.000Z',
      end: clock.now().toISOString(),
      reasonId: '95',
    });
  });

  it('refuses unknown machines (404), unknown reasons (400) and a second down (409)', async () => {
    expect((await control('machines/nope/down')).status).toBe(404);
    expect((await control(`machines/${MACHINE_2}/categorize`, { reasonId: 12345 })).status).toBe(400);
    expect((await control(`machines/${MACHINE_2}/down`)).status).toBe(409);
  });
});

describe('MachineMetrics simulator: Workflow webhooks', () => {
  let receiver: Server;
  let receiverUrl: string;
  let testState: TestState;
  const received: { status: number; events: FlowEvent[] }[] = [];
  let failNext = 0;

  beforeAll(async () => {
    testState = await startTestState();
    const store = testState.store(() => clock.now());
    const env = testEnv({
      vendors: { machinemetrics: { secretName: SECRET_NAME, webhook: { scheme: 'hmac-sha256' } } },
      secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: API_KEY, webhookSecret: 'whsec-sim' } }).source,
      state: store,
    });
    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end();
        return;
      }
      const request = {
        rawBody: Buffer.concat(chunks).toString('utf8'),
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        pathParameters: {},
        query: {},
        receivedAt: clock.now(),
      };
      try {
        await machineMetricsWebhook.verify(request, { env });
        received.push({ status: 200, events: machineMetricsWebhook.parse(request).events });
        res.writeHead(200).end();
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode ?? 500;
        received.push({ status, events: [] });
        res.writeHead(status).end();
      }
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/machinemetrics`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await testState.close();
  });

  it('signs deliveries the way the receiver verifies them, and retries a failed delivery once', async () => {
    const log = memoryLog();
    const withHook = await startMachineMetricsSimulator({
      clock,
      apiKey: API_KEY,
      workflowWebhook: { url: receiverUrl, secret: 'whsec-sim', scheme: 'hmac-sha256' },
      webhookRetryDelayMs: 0,
      log,
    });
    try {
      withHook.down(MACHINE_1, { reasonId: 'setup' });
      await withHook.flushWebhooks();
      failNext = 1;
      withHook.categorize(MACHINE_1, 33);
      await withHook.flushWebhooks();
    } finally {
      await withHook.close();
    }
    expect(received.map((r) => r.status)).toEqual([200, 200]);
    expect(received.flatMap((r) => r.events.map((e) => e.type))).toEqual([
      DOWNTIME_STARTED,
      DOWNTIME_CATEGORIZED,
    ]);
    expect(received[1]?.events[0]?.data).toMatchObject({
      machineId: MACHINE_1,
      reasonId: '33',
      reasonName: 'Chipping Out',
    });
    expect(withHook.webhookDeliveries.map((d) => d.attempts)).toEqual([1, 2]);
    expect(log.lines.some((l) => l.level === 'warn' && l.message.includes('delivery failed'))).toBe(true);
  });

  it('keeps the newest requestLogLimit webhook deliveries, in the array it hands out', async () => {
    const withHook = await startMachineMetricsSimulator({
      clock,
      apiKey: API_KEY,
      workflowWebhook: { url: 'http://127.0.0.1:1/unreachable', secret: 's', scheme: 'shared-secret-header' },
      webhookRetryDelayMs: 0,
      log: memoryLog(),
      requestLogLimit: 2,
    });
    try {
      const deliveries = withHook.webhookDeliveries;
      withHook.down(MACHINE_1, { reasonId: 'setup' });
      withHook.categorize(MACHINE_1, 33);
      withHook.down(MACHINE_2);
      await withHook.flushWebhooks();
      expect(deliveries).toBe(withHook.webhookDeliveries);
      expect(deliveries).toHaveLength(2);
    } finally {
      await withHook.close();
    }
  });

  it('never throws from a control action when the webhook target is unreachable', async () => {
    const log = memoryLog();
    const withHook = await startMachineMetricsSimulator({
      clock,
      apiKey: API_KEY,
      workflowWebhook: { url: 'http://127.0.0.1:1/unreachable', secret: 's', scheme: 'shared-secret-header' },
      webhookRetryDelayMs: 0,
      log,
    });
    try {
      expect(() => withHook.down(MACHINE_2)).not.toThrow();
      await withHook.flushWebhooks();
      expect(withHook.webhookDeliveries[0]).toMatchObject({ attempts: 2 });
      expect(withHook.webhookDeliveries[0]?.error).toBeDefined();
    } finally {
      await withHook.close();
    }
  });
});
