import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  startUpKeepSimulator,
  type UpKeepSimulator,
} from '../../../functions/connectors/upkeep/simulator/index.ts';
import type { Clock } from '../../../sandbox/clock.ts';
import { EMAIL, PASSWORD } from './support.ts';

const START = Date.parse('2026-11-02T08:00:00.000Z');
let time = START;
/** A manual clock every test starts again at 08:00. */
const clock: Clock = {
  now: () => new Date(time),
  advance(ms) {
    time += ms;
  },
  manual: true,
};
const HOUR = 3_600_000;
let sim: UpKeepSimulator;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON answers.
  body: any;
}

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; form?: Record<string, string>; version?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers['session-token'] = options.token;
  if (options.version) headers['upkeep-version'] = options.version;
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const base = path.startsWith('/_sandbox') ? sim.url : sim.baseUrl;
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function login(): Promise<string> {
  const res = await call('POST', '/auth', { body: { email: EMAIL, password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body.result.sessionToken as string;
}

beforeAll(async () => {
  sim = await startUpKeepSimulator({ clock, email: EMAIL, password: PASSWORD, tokenTtlMs: 2 * HOUR });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  time = START;
  sim.reset();
});

describe('UpKeep simulator: auth', () => {
  it('issues a session token with expiresAt for JSON or form-encoded credentials', async () => {
    const json = await call('POST', '/auth', { body: { email: EMAIL, password: PASSWORD } });
    expect(json.body).toEqual({
      success: true,
      result: { sessionToken: expect.stringMatching(/^r:/), expiresAt: '2026-11-02T10:00:00.000Z' },
    });
    const form = await call('POST', '/auth/', { form: { email: EMAIL, password: PASSWORD } });
    expect(form.status).toBe(200);
    expect(sim.logins()).toBe(2);
  });

  it('refuses bad credentials with 401 and missing ones with 400', async () => {
    expect(await call('POST', '/auth', { body: { email: EMAIL, password: 'nope' } })).toEqual({
      status: 401,
      body: { success: false, message: 'Invalid username/password.' },
    });
    const missing = await call('POST', '/auth', { body: { email: EMAIL } });
    expect(missing).toEqual({ status: 400, body: { success: false, message: 'password cannot be null' } });
  });

  it('requires a valid Session-Token on every other route', async () => {
    expect(await call('GET', '/work-orders')).toEqual({
      status: 401,
      body: { success: false, message: 'Unauthorized' },
    });
    expect((await call('GET', '/assets', { token: 'r:forged' })).status).toBe(401);
    const token = await login();
    expect((await call('GET', '/assets', { token })).status).toBe(200);
  });

  it('expires tokens at expiresAt on the shared clock', async () => {
    const token = await login();
    clock.advance(2 * HOUR - 1);
    expect((await call('GET', '/work-orders', { token })).status).toBe(200);
    clock.advance(1);
    expect((await call('GET', '/work-orders', { token })).status).toBe(401);
  });

  it('expires every issued token on POST /_sandbox/tokens/expire', async () => {
    const token = await login();
    expect((await call('POST', '/_sandbox/tokens/expire')).status).toBe(200);
    expect((await call('GET', '/work-orders', { token })).status).toBe(401);
  });

  it('logs out with DELETE /auth', async () => {
    const token = await login();
    expect((await call('DELETE', '/auth', { token })).body).toEqual({
      success: true,
      message: 'session deleted',
    });
    expect((await call('GET', '/work-orders', { token })).status).toBe(401);
  });

  it('records the upkeep-version header of each call', async () => {
    const token = await login();
    await call('GET', '/work-orders', { token, version: '2022-09-14' });
    await call('GET', '/work-orders', { token });
    expect(sim.calls().map((c) => [c.line, c.version])).toEqual([
      ['POST /auth', undefined],
      ['GET /work-orders', '2022-09-14'],
      ['GET /work-orders', undefined],
    ]);
  });
});

describe('UpKeep simulator: work orders', () => {
  let token: string;
  beforeEach(async () => {
    token = await login();
  });

  it('validates a create as documented', async () => {
    const post = (body: unknown) => call('POST', '/work-orders/', { token, body });
    expect((await post({ description: 'no title' })).body).toEqual({
      success: false,
      message: 'title cannot be null',
    });
    expect((await post({ title: null })).body.message).toBe('title cannot be null');
    expect((await post({ title: 'x', team: 'T1' })).body.message).toBe('team not in schema');
    expect((await post({ title: 'x', status: 'open' })).body.message).toBe('status not in schema');
    expect((await post({ title: 'x', priority: 4 })).status).toBe(400);
    expect((await post({ title: 'x', priority: '1' })).status).toBe(400);
    expect((await post({ title: 'x', asset: 'NoSuchAsset' })).status).toBe(400);
    expect((await post({ title: 'x', dueDate: '2026-11-03' })).status).toBe(400);
    expect(sim.workOrders()).toEqual([]);
  });

  it('creates an open work order with a 10-character id, a padded number and clock timestamps', async () => {
    const res = await call('POST', '/work-orders', {
      token,
      body: { title: 'Mill down', priority: 2, asset: 'AssetMill01' },
    });
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({
      id: expect.stringMatching(/^[A-Za-z0-9]{10}$/),
      workOrderNo: '001',
      title: 'Mill down',
      status: 'open',
      priority: 2,
      asset: 'AssetMill01',
      createdAt: '2026-11-02T08:00:00.000Z',
      updatedAt: '2026-11-02T08:00:00.000Z',
    });
  });

  it('returns priority as a number on create but as a string on GET, like UpKeep', async () => {
    const created = await call('POST', '/work-orders', { token, body: { title: 'x', priority: 1 } });
    const got = await call('GET', `/work-orders/${created.body.result.id}`, { token });
    expect(created.body.result.priority).toBe(1);
    expect(got.body.result.priority).toBe('1');
    expect((await call('GET', '/work-orders', { token })).body.results[0].priority).toBe('1');
  });

  it('rejects unknown query keys with invalid filter key', async () => {
    const res = await call('GET', '/work-orders?team=T1', { token });
    expect(res).toEqual({ status: 400, body: { success: false, message: 'invalid filter key: team' } });
    expect(
      (await call('GET', '/work-orders?createdAtGreaterThanOrEqualTo=yesterday', { token })).status,
    ).toBe(400);
    expect((await call('GET', '/work-orders?orderBy=title%20ASC', { token })).status).toBe(400);
  });

  it('filters by date range in unix ms, orders and pages', async () => {
    for (const title of ['a', 'b', 'c', 'd']) {
      await call('POST', '/work-orders', {
        token,
        body: { title, asset: title === 'd' ? 'AssetPress3' : 'AssetMill01' },
      });
      clock.advance(60_000);
    }
    const since = Date.parse('2026-11-02T08:01:00.000Z');
    const titles = async (query: string) =>
      (await call('GET', `/work-orders?${query}`, { token })).body.results.map(
        (w: { title: string }) => w.title,
      );
    expect(await titles('')).toEqual(['d', 'c', 'b', 'a']);
    expect(await titles(`createdAtGreaterThanOrEqualTo=${since}&orderBy=createdAt%20ASC`)).toEqual([
      'b',
      'c',
      'd',
    ]);
    expect(await titles(`createdAtGreaterThan=${since}&asset=AssetMill01`)).toEqual(['c']);
    expect(await titles('orderBy=createdAt%20ASC&offset=1&limit=2')).toEqual(['b', 'c']);
    expect(await titles('orderBy=createdAt%20ASC&offset=10&limit=2')).toEqual([]);
  });

  it('validates PATCH: status values and fields that cannot be set', async () => {
    const { id } = (await call('POST', '/work-orders', { token, body: { title: 'x' } })).body.result;
    const patch = (body: unknown) => call('PATCH', `/work-orders/${id}`, { token, body });
    expect((await patch({ status: 'closed' })).body.message).toBe(
      'status must be one of open, onHold, inProgress, complete',
    );
    expect((await patch({ id: 'other' })).body.message).toBe('id is not allowed to be set!');
    expect((await patch({ createdAt: '2020-01-01' })).body.message).toBe(
      'createdAt is not allowed to be set!',
    );
    expect((await patch({ colour: 'red' })).body.message).toBe('colour not in schema');
    expect((await patch({ title: null })).body.message).toBe('title cannot be null');
    expect(sim.workOrders()[0]?.status).toBe('open');

    clock.advance(5_000);
    const ok = await patch({ status: 'complete', priority: 3 });
    expect(ok.body.result).toMatchObject({
      status: 'complete',
      priority: '3', // the doc's PATCH example: "priority": "1"
      updatedAt: '2026-11-02T08:00:05.000Z',
    });
    expect(sim.workOrders()[0]?.dateCompleted).toBe('2026-11-02T08:00:05.000Z');
  });

  it('answers 404 for an unknown work order and deletes known ones', async () => {
    expect((await call('GET', '/work-orders/Nope000000', { token })).status).toBe(404);
    const { id } = (await call('POST', '/work-orders', { token, body: { title: 'x' } })).body.result;
    expect((await call('DELETE', `/work-orders/${id}`, { token })).body).toEqual({
      success: true,
      message: '1 work order deleted',
    });
    expect(sim.workOrders()).toEqual([]);
  });

  it('expands the asset with includes=asset', async () => {
    await call('POST', '/work-orders', { token, body: { title: 'x', asset: 'AssetLathe2' } });
    const res = await call('GET', '/work-orders?includes=asset', { token });
    expect(res.body.results[0].asset).toMatchObject({ id: 'AssetLathe2', name: 'Lathe 2' });
  });
});

describe('UpKeep simulator: assets and downtime', () => {
  let token: string;
  beforeEach(async () => {
    token = await login();
  });

  it('seeds three assets with zone-less timestamps', async () => {
    const res = await call('GET', '/assets', { token });
    expect(res.body.results.map((a: { id: string }) => a.id).sort()).toEqual([
      'AssetLathe2',
      'AssetMill01',
      'AssetPress3',
    ]);
    expect(res.body.results[0].createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect((await call('GET', '/assets/AssetMill01', { token })).body.result.downtimeStatus).toBe(
      'available',
    );
    expect((await call('GET', '/assets/Nope', { token })).status).toBe(404);
    expect((await call('GET', '/assets?colour=red', { token })).body.message).toBe(
      'invalid filter key: colour',
    );
  });

  it('holds an asset without downtimeStatus (optional in the doc) through POST /_sandbox/assets/:id/downtime-status', async () => {
    const cleared = await call('POST', '/_sandbox/assets/AssetPress3/downtime-status', {
      body: { downtimeStatus: null },
    });
    expect(cleared.status).toBe(200);
    expect(cleared.body.asset).not.toHaveProperty('downtimeStatus');
    expect((await call('GET', '/assets/AssetPress3', { token })).body.result).not.toHaveProperty(
      'downtimeStatus',
    );
    const set = await call('POST', '/_sandbox/assets/AssetPress3/downtime-status', {
      body: { downtimeStatus: 'not-available' },
    });
    expect(set.body.asset.downtimeStatus).toBe('not-available');
    expect((await call('POST', '/_sandbox/assets/Nope/downtime-status', { body: {} })).status).toBe(404);
    expect(
      (await call('POST', '/_sandbox/assets/AssetPress3/downtime-status', { body: { downtimeStatus: 3 } }))
        .status,
    ).toBe(400);
  });

  it('records valid rows, reports invalid ones with success: false, and updates downtimeStatus', async () => {
    const res = await call('POST', '/assets/downtime', {
      token,
      body: [
        { assetId: 'AssetMill01', status: 'available', recordedOn: 'not a date' },
        { assetId: 'AssetLathe2', status: 'not-available', recordedOn: '2026-11-02T07:59:00.000Z' },
        { assetId: 'Nope', status: 'broken', recordedOn: 1_700_000_000_000 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(false);
    const [bad, good, worse] = res.body.results;
    expect(bad.errors).toEqual([
      { message: 'Invalid recordedOn date', slug: 'invalid-recorded-on', value: 'not a date' },
    ]);
    expect(good).toMatchObject({
      statusSlug: 'insert-asset-activity-update',
      newAssetActivityUpdateId: expect.any(String),
    });
    expect(worse.errors.map((e: { slug: string }) => e.slug)).toEqual(['asset-not-found', 'invalid-status']);
    // Rows are numbered like the doc's example, not by array index.
    expect(res.body.results.map((r: { row: number }) => r.row)).toEqual([1, 3, 5]);
    expect(sim.downtime().map((d) => d.assetId)).toEqual(['AssetLathe2']);
    expect(sim.assets().find((a) => a.id === 'AssetLathe2')?.downtimeStatus).toBe('not-available');
  });

  it('answers success: true when every row is recorded, and 400 to a body that is not a non-empty array', async () => {
    const ok = await call('POST', '/assets/downtime', {
      token,
      body: [
        { assetId: 'AssetPress3', status: 'not-available', recordedOn: 1_793_000_000_000, userId: 'U1' },
      ],
    });
    expect(ok.body.success).toBe(true);
    expect((await call('POST', '/assets/downtime', { token, body: [] })).status).toBe(400);
    expect((await call('POST', '/assets/downtime', { token, body: { assetId: 'AssetPress3' } })).status).toBe(
      400,
    );
  });
});

describe('UpKeep simulator: control API and faults', () => {
  it('exposes state and resets it', async () => {
    const token = await login();
    await call('POST', '/work-orders', { token, body: { title: 'x' } });
    const state = await call('GET', '/_sandbox/state');
    expect(state.body.workOrders).toHaveLength(1);
    expect(state.body.assets).toHaveLength(3);
    expect((await call('POST', '/_sandbox/reset')).status).toBe(200);
    expect(sim.workOrders()).toEqual([]);
    expect((await call('GET', '/work-orders', { token })).status).toBe(401);
  });

  it('applies queued faults from server.ts before the handler', async () => {
    const token = await login();
    await call('POST', '/_sandbox/faults', {
      body: { match: 'GET /api/v2/work-orders', status: 503, times: 1 },
    });
    expect((await call('GET', '/work-orders', { token })).status).toBe(503);
    expect((await call('GET', '/work-orders', { token })).status).toBe(200);
  });
});

describe('UpKeep simulator: webhooks', () => {
  let target: Server;
  let hook: UpKeepSimulator;
  let answers: number[] = [];
  const bodies: unknown[] = [];

  beforeAll(async () => {
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as AddressInfo;
    hook = await startUpKeepSimulator({
      clock,
      email: EMAIL,
      password: PASSWORD,
      webhook: { url: `http://127.0.0.1:${port}/h` },
    });
  });
  afterAll(async () => {
    await hook.close();
    await new Promise((resolve) => target.close(resolve));
  });
  beforeEach(() => {
    hook.reset();
    bodies.length = 0;
    answers = [];
  });

  async function hookLogin(): Promise<string> {
    const res = await fetch(`${hook.baseUrl}/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    return ((await res.json()) as { result: { sessionToken: string } }).result.sessionToken;
  }

  it('posts {event, data} for create, update, status change and delete', async () => {
    const token = await hookLogin();
    const h = { 'session-token': token, 'content-type': 'application/json' };
    const created = await fetch(`${hook.baseUrl}/work-orders`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ title: 'x' }),
    });
    const { id } = ((await created.json()) as { result: { id: string } }).result;
    await fetch(`${hook.baseUrl}/work-orders/${id}`, {
      method: 'PATCH',
      headers: h,
      body: JSON.stringify({ status: 'inProgress' }),
    });
    await fetch(`${hook.baseUrl}/work-orders/${id}`, { method: 'DELETE', headers: h });
    await hook.flushWebhooks();
    const events = (bodies as { event: string; data: { id: string } }[]).map((b) => [b.event, b.data.id]);
    expect(events.sort()).toEqual(
      [
        ['WORK_ORDER_CREATED', id],
        ['WORK_ORDER_UPDATED', id],
        ['WORK_ORDER_STATUS_UPDATED', id],
        ['WORK_ORDER_DELETED', id],
      ].sort(),
    );
  });

  it('plays a user creating a work order in the app: same checks, same WORK_ORDER_CREATED webhook', async () => {
    const res = await fetch(`${hook.url}/_sandbox/work-orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Check the guard', category: 'Photo validation' }),
    });
    expect(res.status).toBe(200);
    const { workOrder } = (await res.json()) as { workOrder: { id: string; category: string } };
    expect(workOrder.category).toBe('Photo validation');
    await hook.flushWebhooks();
    expect((bodies as { event: string; data: { id: string } }[]).map((b) => [b.event, b.data.id])).toEqual([
      ['WORK_ORDER_CREATED', workOrder.id],
    ]);
    const untitled = await fetch(`${hook.url}/_sandbox/work-orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ category: 'Photo validation' }),
    });
    expect(untitled.status).toBe(400);
  });

  it('retries a failed delivery once, then gives up without failing the API call', async () => {
    answers = [500, 500];
    const token = await hookLogin();
    const res = await fetch(`${hook.baseUrl}/work-orders`, {
      method: 'POST',
      headers: { 'session-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x' }),
    });
    expect(res.status).toBe(200);
    await hook.flushWebhooks();
    expect(hook.webhookDeliveries().map((d) => [d.event, d.attempt, d.status])).toEqual([
      ['WORK_ORDER_CREATED', 1, 500],
      ['WORK_ORDER_CREATED', 2, 500],
    ]);
  });
});
