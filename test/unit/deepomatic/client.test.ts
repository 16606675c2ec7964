/** The Deepomatic client against a scripted server (exact bodies and headers) and the simulator. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  connectDeepomatic,
  DEEPOMATIC_WORK_ORDER_NOT_FOUND_DETAIL,
  DeepomaticApiError,
  DeepomaticClient,
  DeepomaticInputError,
  DeepomaticRouteNotFoundError,
  toWorkOrderName,
  WORK_ORDER_NAME_PATTERN,
  workOrderNameProblem,
} from '../../../functions/connectors/deepomatic/client.ts';
import { parseDeepomaticConfig } from '../../../functions/connectors/deepomatic/config.ts';
import {
  DEEPOMATIC_PROBE_WORK_ORDER_ID,
  connector as deepomaticConnector,
} from '../../../functions/connectors/deepomatic/connector.ts';
import { parseDeepomaticErrorBody } from '../../../functions/connectors/deepomatic/errors.ts';
import { AmbiguousWriteError, VendorResponseError } from '../../../functions/core/errors.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { testEnv } from '../../support/factories.ts';
import { API_KEY, ENGINEER, failure, type Harness, SECRET_NAME, startHarness } from './support.ts';

// ---- a scripted server ----------------------------------------------------------------------

type Reply = { status: number; body?: string; hang?: boolean };
interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

let server: Server;
let baseUrl: string;
let script: Reply[] = [];
let hits: Hit[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      hits.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      });
      const next = script.shift() ?? { status: 200, body: JSON.stringify(WORK_ORDER) };
      if (next.hang) return;
      res.writeHead(next.status, { 'content-type': 'application/json' });
      res.end(next.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  script = [];
  hits = [];
});

const reply = (status: number, body?: unknown): Reply => ({
  status,
  body: body === undefined ? undefined : JSON.stringify(body),
});

/** The doc's create response (reference §3.1), with its JSON errors fixed. */
const WORK_ORDER = {
  id: '1eb136be-65d9-4964-8a8d-1a20c1573d7b',
  name: 'work-order',
  site_id: '39c9d63f-a517-4f9d-ae45-415d80931226',
  progress_score: 0,
  review_date: null,
  create_date: '2023-05-29T12:12:11.584841Z',
  update_date: '2023-05-29T12:12:12.020635Z',
  tags: ['group-1', 'group-2'],
  app_version_id: 'c14d3664-b69f-4357-a443-866111a65fb8',
  parameters: null,
  metadata: { region: 'North', intervention_date: '05-29-2023' },
  types: [
    { id: '47fed03f-0894-4d1a-91ff-d0ab0af641b0', name: 'maintenance' },
    { id: '4e9acb6f-ee3e-4e90-86fd-8baea0dfd969', name: 'one-equipment' },
  ],
  field_engineer_email: 'john.doe@deepomatic.com',
  field_engineer_name: 'John Doe',
  user_group_ids: [],
  tasks: [
    {
      id: 'db081122-b571-48d9-b19b-6f690be1e94e',
      name: 'equipment_after_intervention',
      label: 'Is it a photo of the equipment after intervention?',
      type: 'Boolean',
      group_id: '6f15b52e-4717-4ec5-a8b2-bd58e7eec5ca',
      group_name: 'equipment-after-intervention',
      state: null,
    },
  ],
  task_groups: [
    {
      id: '6f15b52e-4717-4ec5-a8b2-bd58e7eec5ca',
      name: 'equipment-after-intervention',
      display_name: 'Equipment after intervention',
      order: 0,
    },
  ],
};

function scripted(keys: string[] = [API_KEY], config: Record<string, unknown> = {}) {
  const keyReads: boolean[] = [];
  const delays: number[] = [];
  const client = new DeepomaticClient({
    config: parseDeepomaticConfig({ baseUrl: `${baseUrl}/v0.2`, secretName: SECRET_NAME, ...config }),
    loadApiKey: async ({ refresh }) => {
      keyReads.push(refresh);
      return keys[Math.min(keyReads.length - 1, keys.length - 1)] as string;
    },
    http: {
      timeoutMs: 300,
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    },
  });
  return { client, keyReads, delays };
}

// ---- names ------------------------------------------------------------------------------------

describe('work-order names', () => {
  it('accepts letters, digits, _ and - up to 128 characters', () => {
    for (const ok of ['work-order', 'UPK_123-abc', 'a', 'x'.repeat(128)]) {
      expect(workOrderNameProblem(ok)).toBeUndefined();
      expect(WORK_ORDER_NAME_PATTERN.test(ok)).toBe(true);
    }
    expect(workOrderNameProblem('')).toBe('must not be empty');
    expect(workOrderNameProblem('x'.repeat(129))).toBe('must be at most 128 characters (got 129)');
    expect(workOrderNameProblem('WO 12/3')).toBe(
      'only letters, digits, _ and - are accepted (found " ", "/")',
    );
    expect(workOrderNameProblem(42)).toBe('must be a string');
  });

  it('DEEPOMATIC_NAME_ASCII_ONLY: non-ASCII letters are refused (the stricter reading)', () => {
    expect(workOrderNameProblem('café')).toContain('"é"');
    expect(WORK_ORDER_NAME_PATTERN.test('Ärger')).toBe(false);
    expect(toWorkOrderName('upkeep-', 'café')).toMatch(/^upkeep-caf_-[0-9a-f]{8}$/);
  });

  it('toWorkOrderName keeps clean ids as they are', () => {
    expect(toWorkOrderName('upkeep-', 'Zx8aB3')).toBe('upkeep-Zx8aB3');
    expect(toWorkOrderName('', 12345)).toBe('12345');
  });

  it('toWorkOrderName replaces other characters and adds a hash so distinct ids stay distinct', () => {
    const a = toWorkOrderName('upkeep-', 'WO/12 3');
    const b = toWorkOrderName('upkeep-', 'WO.12.3');
    expect(a).toMatch(/^upkeep-WO_12_3-[0-9a-f]{8}$/);
    expect(b).toMatch(/^upkeep-WO_12_3-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(toWorkOrderName('upkeep-', 'WO/12 3')).toBe(a); // deterministic
    expect(toWorkOrderName('up keep:', 'A1')).toBe('up_keep_A1');
    for (const name of [a, b]) expect(workOrderNameProblem(name)).toBeUndefined();
  });

  it('toWorkOrderName cuts long ids to 128 characters, keeping them distinct', () => {
    const long1 = `${'x'.repeat(200)}1`;
    const long2 = `${'x'.repeat(200)}2`;
    const n1 = toWorkOrderName('upkeep-', long1);
    expect(n1).toHaveLength(128);
    expect(workOrderNameProblem(n1)).toBeUndefined();
    expect(n1).not.toBe(toWorkOrderName('upkeep-', long2));
    expect(toWorkOrderName('p-', 'y'.repeat(126))).toBe(`p-${'y'.repeat(126)}`);
    expect(toWorkOrderName('p-', 'y'.repeat(127))).toHaveLength(128);
    expect(() => toWorkOrderName('p-', '')).toThrow(DeepomaticInputError);
  });

  it('refuses an invalid name before sending anything', async () => {
    const { client } = scripted();
    for (const name of ['bad name', 'x'.repeat(129), '']) {
      const error = await failure(client.createWorkOrder({ name }));
      expect(error).toBeInstanceOf(DeepomaticInputError);
      expect((error as DeepomaticInputError).field).toBe('name');
      expect(error.message).toContain('deepomatic createWorkOrder: invalid input at name');
    }
    const patch = await failure(client.updateWorkOrder('id-1', { name: 'a/b' }));
    expect(patch).toBeInstanceOf(DeepomaticInputError);
    expect(hits).toEqual([]);
  });
});

// ---- requests -----------------------------------------------------------------------------------

describe('deepomatic client requests', () => {
  it("sends 'Authorization: Token <key>' and a trailing slash on every path", async () => {
    const { client } = scripted();
    script = [reply(201, WORK_ORDER), reply(200, WORK_ORDER), reply(200, WORK_ORDER), { status: 204 }];
    await client.createWorkOrder({ name: 'work-order' });
    await client.updateWorkOrder('1eb136be', { tags: ['a'] });
    await client.getWorkOrder('1eb136be');
    await client.deleteWorkOrder('1eb136be');
    expect(hits.map((h) => `${h.method} ${h.url}`)).toEqual([
      'POST /v0.2/work-orders/',
      'PATCH /v0.2/work-orders/1eb136be/',
      'GET /v0.2/work-orders/1eb136be/?include_inputs=false',
      'DELETE /v0.2/work-orders/1eb136be/',
    ]);
    for (const hit of hits) expect(hit.headers.authorization).toBe(`Token ${API_KEY}`);
    expect(hits[0]?.headers['content-type']).toBe('application/json');
  });

  it('keeps the trailing slash with a baseUrl that ends in one', async () => {
    const { client } = scripted([API_KEY], { baseUrl: `${baseUrl}/v0.2/` });
    await client.getWorkOrder('abc');
    expect(hits[0]?.url).toBe('/v0.2/work-orders/abc/?include_inputs=false');
    expect(client.url('/work-orders/')).toBe(`${baseUrl}/v0.2/work-orders/`);
  });

  it('always sends metadata on create ({} when there is none), and the other fields as given', async () => {
    const { client } = scripted();
    script = [reply(201, WORK_ORDER), reply(201, WORK_ORDER)];
    await client.createWorkOrder({ name: 'work-order' });
    await client.createWorkOrder({
      name: 'work-order',
      metadata: { region: 'North' },
      tags: ['group-1'],
      field_engineer_email: 'john.doe@deepomatic.com',
      user_group_ids: [7],
      work_order_types: ['one-equipment', 'maintenance'],
    });
    expect(hits[0]?.body).toEqual({ name: 'work-order', metadata: {} });
    expect(hits[1]?.body).toEqual({
      name: 'work-order',
      metadata: { region: 'North' },
      tags: ['group-1'],
      field_engineer_email: 'john.doe@deepomatic.com',
      user_group_ids: [7],
      work_order_types: ['one-equipment', 'maintenance'],
    });
  });

  it('refuses non-object metadata and unknown keys before sending', async () => {
    const { client } = scripted();
    const arrayMeta = await failure(client.createWorkOrder({ name: 'a', metadata: [] as never }));
    expect(arrayMeta).toBeInstanceOf(DeepomaticInputError);
    expect((arrayMeta as DeepomaticInputError).field).toBe('metadata');
    const typo = await failure(client.createWorkOrder({ name: 'a', work_order_type: ['x'] } as never));
    expect(typo.message).toContain('work_order_type');
    const empty = await failure(client.updateWorkOrder('id', {}));
    expect(empty.message).toContain('nothing to update');
    const noId = await failure(client.getWorkOrder(''));
    expect((noId as DeepomaticInputError).field).toBe('id');
    expect(hits).toEqual([]);
  });

  it('parses the doc response (tolerant: extra fields pass, absent lists default)', async () => {
    const { client } = scripted();
    script = [reply(200, WORK_ORDER)];
    const wo = await client.getWorkOrder(WORK_ORDER.id);
    expect(wo).toMatchObject({ id: WORK_ORDER.id, progress_score: 0, review_date: null, parameters: null });
    expect(wo?.tasks[0]?.name).toBe('equipment_after_intervention');
    const minimal = { id: 'x', name: 'n', progress_score: 50, create_date: 'a', update_date: 'b' };
    script = [reply(200, minimal)];
    expect(await client.getWorkOrder('x')).toMatchObject({
      review_date: null,
      metadata: null,
      tasks: [],
      task_groups: [],
      tags: [],
      types: [],
      field_engineer_email: null,
    });
  });

  it('reads user_group_ids items of any shape (api-doc.txt:168-174, 216: item type undocumented, field unused)', async () => {
    const { client } = scripted();
    const groups = [{ id: 7, name: 'north' }, '', null];
    script = [reply(200, { ...WORK_ORDER, user_group_ids: groups })];
    expect((await client.getWorkOrder(WORK_ORDER.id))?.user_group_ids).toEqual(groups);
  });

  it('raises VendorResponseError naming the field of an unexpected body', async () => {
    const { client } = scripted();
    script = [reply(200, { ...WORK_ORDER, progress_score: 140 })];
    const error = await failure(client.getWorkOrder('x'));
    expect(error).toBeInstanceOf(VendorResponseError);
    expect((error as VendorResponseError).field).toBe('progress_score');
  });

  it('answers undefined for GET 404 and already-gone for DELETE 404', async () => {
    const { client } = scripted();
    script = [
      reply(404, { detail: 'WorkOrder not found!' }),
      reply(404, { detail: 'WorkOrder not found!' }),
      { status: 204 },
    ];
    expect(await client.getWorkOrder('gone')).toBeUndefined();
    expect(await client.deleteWorkOrder('gone')).toBe('already-gone');
    expect(await client.deleteWorkOrder('here')).toBe('deleted');
  });

  it('a 404 whose body is not "WorkOrder not found!" is a non-retryable route error, not "gone"', async () => {
    const { client } = scripted();
    script = [reply(404, { detail: 'Not found.' }), reply(404, { detail: 'Not found.' })];
    for (const call of [() => client.getWorkOrder('wo-1'), () => client.deleteWorkOrder('wo-1')]) {
      const error = await failure(call());
      expect(error).toBeInstanceOf(DeepomaticRouteNotFoundError);
      expect((error as DeepomaticRouteNotFoundError).status).toBe(404);
      expect((error as DeepomaticRouteNotFoundError).detail).toBe('Not found.');
      expect((error as DeepomaticRouteNotFoundError).retryable).toBe(false);
      expect(error.message).toContain('-> 404: Not found.');
      expect(error.message).toContain(`${baseUrl}/v0.2/work-orders/wo-1/`);
    }
    expect(DEEPOMATIC_WORK_ORDER_NOT_FOUND_DETAIL).toBe('WorkOrder not found!');
  });

  it('PATCH 404 is an error (there is nothing to update)', async () => {
    const { client } = scripted();
    script = [reply(404, { detail: 'WorkOrder not found!' })];
    const error = await failure(client.updateWorkOrder('gone', { tags: [] }));
    expect(error).toBeInstanceOf(DeepomaticApiError);
    expect((error as DeepomaticApiError).status).toBe(404);
  });
});

// ---- errors ---------------------------------------------------------------------------------------

describe('deepomatic errors (the four shapes of reference §1.4)', () => {
  const cases: { shape: string; body: unknown; fields: string[]; text: string }[] = [
    {
      shape: 'E1',
      body: {
        name: ["Field 'name' is missing. This field is required."],
        metadata: ["Field 'metadata' is missing. This field is required."],
      },
      fields: ['name', 'metadata'],
      text: "-> 400: name: Field 'name' is missing. This field is required.; metadata: Field 'metadata' is missing. This field is required.",
    },
    {
      shape: 'E2',
      body: { detail: { field_engineer_email: 'There is no user with this email.' } },
      fields: ['field_engineer_email'],
      text: '-> 400: field_engineer_email: There is no user with this email.',
    },
    {
      shape: 'E3',
      body: {
        error: 'Serialization error',
        detail: { field_engineer_email: 'There is no user with this email.' },
      },
      fields: ['field_engineer_email'],
      text: '-> 400: Serialization error: field_engineer_email: There is no user with this email.',
    },
    {
      shape: 'E4',
      body: { detail: 'WorkOrder not found!' },
      fields: [],
      text: '-> 400: WorkOrder not found!',
    },
  ];

  for (const c of cases) {
    it(`${c.shape} becomes a DeepomaticApiError naming the fields`, async () => {
      const { client } = scripted();
      script = [reply(400, c.body)];
      const error = await failure(client.createWorkOrder({ name: 'work-order' }));
      expect(error).toBeInstanceOf(DeepomaticApiError);
      const e = error as DeepomaticApiError;
      expect(e.shape).toBe(c.shape);
      expect(e.status).toBe(400);
      expect(e.fields).toEqual(c.fields);
      expect(e.message).toBe(`deepomatic POST /work-orders/ ${c.text}`);
      expect(e.retryable).toBe(false);
      expect(hits).toHaveLength(1); // a 400 is not retried
    });
  }

  it('keeps the field messages and flattens nested field errors', () => {
    expect(
      parseDeepomaticErrorBody({ metadata: { region: ['Unknown key.'] }, tags: [{ 0: ['bad'] }] }),
    ).toEqual({
      shape: 'E1',
      error: undefined,
      detail: undefined,
      fieldErrors: [
        { field: 'metadata.region', message: 'Unknown key.' },
        { field: 'tags[0].0', message: 'bad' },
      ],
    });
    expect(parseDeepomaticErrorBody('<html>502</html>').shape).toBe('unknown');
    expect(parseDeepomaticErrorBody('{"detail":"x"}').detail).toBe('x');
    expect(parseDeepomaticErrorBody({}).shape).toBe('unknown');
  });

  it('an auth error (E4, 401) says the key was rejected and re-reads the key once', async () => {
    const { client, keyReads } = scripted([API_KEY, API_KEY]);
    script = [reply(401, { detail: 'No user found for such apiKey.' })];
    const error = await failure(client.getWorkOrder('x'));
    expect(error).toBeInstanceOf(DeepomaticApiError);
    expect(error.message).toBe(
      'deepomatic GET /work-orders/x/ -> 401 (API key rejected): No user found for such apiKey.',
    );
    expect(keyReads).toEqual([false, true]);
    expect(hits).toHaveLength(1); // same key: no second attempt
  });

  it('retries once with a rotated key after a 401', async () => {
    const { client, keyReads } = scripted(['old-key-1234', 'new-key-5678']);
    script = [reply(401, { detail: 'No user found for such apiKey.' }), reply(201, WORK_ORDER)];
    const wo = await client.createWorkOrder({ name: 'work-order' });
    expect(wo.id).toBe(WORK_ORDER.id);
    expect(keyReads).toEqual([false, true]);
    expect(hits.map((h) => h.headers.authorization)).toEqual(['Token old-key-1234', 'Token new-key-5678']);
  });

  it('retries a GET on 5xx, then raises a retryable DeepomaticApiError without the key in it', async () => {
    const { client, delays } = scripted();
    script = [1, 2, 3, 4].map(() => reply(502, { detail: `bad gateway for Token ${API_KEY}` }));
    const error = await failure(client.getWorkOrder('x'));
    expect(error).toBeInstanceOf(DeepomaticApiError);
    expect((error as DeepomaticApiError).retryable).toBe(true);
    expect((error as DeepomaticApiError).shape).toBe('E4');
    expect(error.message).not.toContain(API_KEY);
    expect(hits).toHaveLength(4);
    expect(delays).toHaveLength(3);
  });

  it('does not retry a POST on 500 (the work order may exist)', async () => {
    const { client } = scripted();
    script = [reply(500, { detail: 'Server error' })];
    const error = await failure(client.createWorkOrder({ name: 'work-order' }));
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect(((error as Error).cause as DeepomaticApiError).status).toBe(500);
    expect(hits).toHaveLength(1);
  });

  it('retries an (idempotent) PATCH on 500', async () => {
    const { client } = scripted();
    script = [reply(500, { detail: 'Server error' }), reply(200, WORK_ORDER)];
    await client.updateWorkOrder(WORK_ORDER.id, { field_engineer_email: 'richard.roe@deepomatic.com' });
    expect(hits).toHaveLength(2);
    expect(hits[1]?.body).toEqual({ field_engineer_email: 'richard.roe@deepomatic.com' });
  });
});

// ---- against the simulator -----------------------------------------------------------------------

describe('deepomatic client against the simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.sim.close());
  beforeEach(() => {
    h.sim.reset();
    h.sim.faults.length = 0;
    h.sim.requests.length = 0;
  });

  it('creates, reads, updates (override) and deletes a work order', async () => {
    const client = h.client();
    const created = await client.createWorkOrder({
      name: 'upkeep-WO1',
      metadata: { cmms: 'upkeep' },
      tags: ['upkeep', 'plant-1'],
      field_engineer_email: ENGINEER,
      work_order_types: ['photo-validation'],
    });
    expect(created.progress_score).toBe(0);
    expect(created.tasks.map((t) => t.name)).toEqual(['equipment_after_intervention', 'nameplate_visible']);
    const updated = await client.updateWorkOrder(created.id, { tags: ['other'], metadata: { b: '2' } });
    expect(updated.tags).toEqual(['other']);
    expect(updated.metadata).toEqual({ b: '2' });
    expect((await client.getWorkOrder(created.id))?.tags).toEqual(['other']);
    expect(await client.deleteWorkOrder(created.id)).toBe('deleted');
    expect(await client.deleteWorkOrder(created.id)).toBe('already-gone');
    expect(await client.getWorkOrder(created.id)).toBeUndefined();
  });

  it('an unknown engineer fails the create (E2) and the update (E3) naming the field', async () => {
    const client = h.client();
    const create = await failure(
      client.createWorkOrder({ name: 'wo-1', field_engineer_email: 'nobody@plant.example' }),
    );
    expect((create as DeepomaticApiError).shape).toBe('E2');
    expect((create as DeepomaticApiError).fields).toEqual(['field_engineer_email']);
    const wo = await client.createWorkOrder({ name: 'wo-1' });
    const update = await failure(
      client.updateWorkOrder(wo.id, { field_engineer_email: 'nobody@plant.example' }),
    );
    expect((update as DeepomaticApiError).shape).toBe('E3');
    expect(update.message).toContain(
      'Serialization error: field_engineer_email: There is no user with this email.',
    );
  });

  it('an unknown work-order type fails the create (E1)', async () => {
    const error = await failure(h.client().createWorkOrder({ name: 'wo-1', work_order_types: ['welding'] }));
    expect((error as DeepomaticApiError).shape).toBe('E1');
    expect((error as DeepomaticApiError).fieldErrors).toEqual([
      { field: 'work_order_types', message: 'Unknown work order type(s): welding.' },
    ]);
  });

  it('a baseUrl without /v0.2 makes GET and DELETE fail with a route error, never "gone"', async () => {
    const wo = await h.client().createWorkOrder({ name: 'wo-kept' });
    const misrouted = h.client({ config: { baseUrl: h.sim.url } });
    for (const call of [() => misrouted.getWorkOrder(wo.id), () => misrouted.deleteWorkOrder(wo.id)]) {
      const error = await failure(call());
      expect(error).toBeInstanceOf(DeepomaticRouteNotFoundError);
      expect((error as DeepomaticApiError).status).toBe(404);
      expect((error as DeepomaticApiError).retryable).toBe(false);
      expect(error.message).toContain('vendors.deepomatic.baseUrl');
    }
    expect(h.sim.workOrders().map((w) => w.name)).toEqual(['wo-kept']);
  });

  it('a wrong key is an E4 401', async () => {
    const error = await failure(h.client({ loadApiKey: async () => 'wrong-key-0000' }).getWorkOrder('x'));
    expect((error as DeepomaticApiError).status).toBe(401);
    expect((error as DeepomaticApiError).detail).toBe('No user found for such apiKey.');
  });

  it('a create that times out after it was applied is an AmbiguousWriteError, never re-sent', async () => {
    h.sim.faults.push({ match: 'POST /v0.2/work-orders', timeoutAfterWrite: true, delayMs: 5_000 });
    const error = await failure(
      h.client({ http: { timeoutMs: 150 } }).createWorkOrder({ name: 'wo-timeout' }),
    );
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect(h.sim.requests.filter((r) => r.startsWith('POST'))).toHaveLength(1);
    // The write happened: the work order exists, which is why the caller must not re-send blindly.
    expect(h.sim.workOrders().map((w) => w.name)).toEqual(['wo-timeout']);
  });

  it('a GET that times out is retried (safe to repeat)', async () => {
    const client = h.client({ http: { timeoutMs: 150 } });
    const wo = await client.createWorkOrder({ name: 'wo-get' });
    h.sim.faults.push({ match: 'GET /v0.2/work-orders', timeoutAfterWrite: true, delayMs: 5_000 });
    expect((await client.getWorkOrder(wo.id))?.name).toBe('wo-get');
  });

  it('a 429 on create is retried (Deepomatic did not act on it)', async () => {
    h.sim.faults.push({ match: 'POST /v0.2/work-orders', status: 429, retryAfterSeconds: 1 });
    const wo = await h.client().createWorkOrder({ name: 'wo-429' });
    expect(wo.name).toBe('wo-429');
    expect(h.delays).toContain(1_000);
  });

  it('connectDeepomatic reads the key from the secret on the first call', async () => {
    const secrets = staticSecretSource({ [SECRET_NAME]: { apiKey: API_KEY } });
    const env = testEnv({} as StateStore, {
      vendors: { deepomatic: { baseUrl: `${h.sim.url}/v0.2/`, secretName: SECRET_NAME, timeoutMs: 2_000 } },
      secrets,
    });
    const client = connectDeepomatic(env);
    expect(secrets.reads).toEqual([]);
    await client.createWorkOrder({ name: 'wo-env' });
    await client.createWorkOrder({ name: 'wo-env-2' });
    expect(secrets.reads).toEqual([SECRET_NAME]);
  });
});

describe('deepomatic smoke probe', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.sim.close());
  beforeEach(() => {
    h.sim.requests.length = 0;
  });

  const probe = (baseUrl: string, apiKey: string) =>
    // biome-ignore lint/style/noNonNullAssertion: the Deepomatic connector declares a probe
    deepomaticConnector.probe!(
      testEnv({} as StateStore, {
        vendors: { deepomatic: { baseUrl, secretName: SECRET_NAME, timeoutMs: 2_000 } },
        secrets: staticSecretSource({ [SECRET_NAME]: { apiKey } }),
      }),
    );

  it('reads the nil UUID and passes on the documented "WorkOrder not found!"', async () => {
    expect(await probe(`${h.sim.url}/v0.2`, API_KEY)).toBe(
      'read a work order by id (not found, as expected)',
    );
    expect(h.sim.requests).toEqual([
      expect.stringContaining(`GET /v0.2/work-orders/${DEEPOMATIC_PROBE_WORK_ORDER_ID}/`),
    ]);
  });

  it('fails with a wrong key and a baseUrl without /v0.2 (any other 404 is not a pass)', async () => {
    const error = await failure(probe(h.sim.url, 'wrong-key-0000'));
    expect(error).toBeInstanceOf(DeepomaticRouteNotFoundError);
  });

  it('fails with a wrong key', async () => {
    const error = await failure(probe(`${h.sim.url}/v0.2`, 'wrong-key-0000'));
    expect((error as DeepomaticApiError).status).toBe(401);
  });
});
