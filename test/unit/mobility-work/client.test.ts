import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  connectMobilityWork,
  MobilityWorkClient,
  type MobilityWorkClientOptions,
} from '../../../functions/connectors/mobility-work/client.ts';
import {
  type MobilityWorkConfigInput,
  parseMobilityWorkConfig,
} from '../../../functions/connectors/mobility-work/config.ts';
import {
  MobilityWorkApiError,
  MobilityWorkBulkError,
  MobilityWorkInputError,
} from '../../../functions/connectors/mobility-work/errors.ts';
import { AmbiguousWriteError, ConfigError, VendorResponseError } from '../../../functions/core/errors.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { testEnv } from '../../support/factories.ts';
import { API_KEY, NETWORK_ID, SECRET_NAME } from './fixtures.ts';

type Reply = { status: number; body?: string; headers?: Record<string, string>; hang?: boolean };
interface Hit {
  line: string;
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
        line: `${req.method} ${req.url}`,
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      });
      const next = script.shift() ?? { status: 202, body: 'null' };
      if (next.hang) return; // never answers: the client's timeout fires after the write
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
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

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body: JSON.stringify(body),
  headers,
});

function client(
  config: Partial<MobilityWorkConfigInput> = {},
  options: Partial<Omit<MobilityWorkClientOptions, 'config'>> & { keys?: string[] } = {},
) {
  const delays: number[] = [];
  const keyReads: boolean[] = [];
  const keys = options.keys ?? [API_KEY];
  const c = new MobilityWorkClient({
    config: parseMobilityWorkConfig({ baseUrl, secretName: SECRET_NAME, ...config }),
    loadApiKey: async ({ refresh }) => {
      keyReads.push(refresh);
      return keys[Math.min(keyReads.length - 1, keys.length - 1)] as string;
    },
    http: {
      timeoutMs: 500,
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
      ...options.http,
    },
    ...(options.log ? { log: options.log } : {}),
  });
  return { client: c, delays, keyReads };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const TASK = {
  equipment: 2507,
  description: 'Mill 1 down: spindle alarm',
  startDateTime: '2026-11-02T08:00:00+00:00',
  endDateTime: '2026-11-02T09:00:00+00:00',
  allDay: false,
  assignees: [3, 'john.doe@example.com'],
  metadata: { millwrightEpisode: 'ep-1' },
};

/** A create with the two required objects (MW_SPARE_PART_REQUIRED_OBJECTS, a named assumption). */
const NEW_PART = {
  externalReference: 'UPK-1',
  name: 'Bearing',
  unitPrice: { amount: 640, currency: 'EUR' },
  location: { locationName: 'Main store' },
};

/** reference §2.2, verbatim but for the assignee e-mails. */
const VALIDATION_ERROR = {
  http_status_code: 400,
  code: '400044',
  message: 'The request payload is not valid.',
  extended_message: {
    global_errors: [],
    property_errors: {
      '/assignees/0': [
        { messageKey: 'error.payload.assignees.unknown', parameters: { type: 'email', value: 'x' } },
      ],
    },
  },
  more_info_url: null,
};

const AUTH_ERROR = {
  http_status_code: 401,
  code: '401001',
  message: 'Authentication error',
  extended_message: {
    global_errors: [{ messageKey: 'Invalid Api Key.', parameters: {} }],
    property_errors: {},
  },
  more_info_url: null,
};

const PLAN_ERROR = {
  http_status_code: 403,
  code: '403001',
  message: 'Subscription plan does not allow to use that API',
  extended_message: { global_errors: [], property_errors: [] },
  more_info_url: null,
};

const SETTINGS = {
  networkId: NETWORK_ID,
  legacyNetworkId: 686,
  name: 'Mobility Work',
  timezone: 'Europe/Paris',
  currency: 'EUR',
};

describe('MobilityWorkClient requests', () => {
  it('sends Api-Key, the configured User-Agent and JSON; schedules a task (201, null body)', async () => {
    script = [{ status: 201, body: 'null' }];
    const { client: c } = client({ userAgent: 'Millwright test (Factory Inc.)' });
    await expect(c.scheduleTask(TASK)).resolves.toEqual({ accepted: true });
    expect(hits).toHaveLength(1);
    const [hit] = hits;
    expect(hit?.line).toBe('POST /partners/v1/tasks');
    expect(hit?.headers['api-key']).toBe(API_KEY);
    expect(hit?.headers['user-agent']).toBe('Millwright test (Factory Inc.)');
    expect(hit?.headers['content-type']).toBe('application/json');
    expect(hit?.body).toEqual(TASK);
  });

  it('sends the default User-Agent when none is configured', async () => {
    script = [json(200, SETTINGS)];
    await client().client.getNetworkSettings();
    expect(hits[0]?.headers['user-agent']).toBe('Millwright (+https://github.com/millwright)');
  });

  it('reads the API key once, lazily, and reuses it', async () => {
    const { client: c, keyReads } = client();
    expect(keyReads).toEqual([]);
    script = [json(200, SETTINGS), json(200, SETTINGS)];
    await c.getNetworkSettings();
    await c.getNetworkSettings();
    expect(keyReads).toEqual([false]);
  });

  it('accepts 201/202/204 answers with a null or empty body', async () => {
    script = [
      { status: 201, body: '' },
      { status: 204 },
      { status: 202, body: 'null' },
      { status: 202, body: '' },
    ];
    const { client: c } = client();
    await expect(c.scheduleTask(TASK)).resolves.toEqual({ accepted: true });
    await expect(
      c.triggerMaintenancePlan('6f1c1d5e-8f7a-4b7e-9a55-2f4a0b0c9d11', { episode: 'ep-1' }),
    ).resolves.toEqual({ accepted: true });
    await expect(c.createSpareParts([NEW_PART])).resolves.toEqual({
      requests: 1,
      items: 1,
      status: 'accepted',
    });
    await expect(c.updateSparePartAttributes([{ id: 'UPK-1', minimumStock: null }])).resolves.toMatchObject({
      status: 'accepted',
    });
    expect(hits.map((h) => h.line)).toEqual([
      'POST /partners/v1/tasks',
      'POST /partners/maintenance-plans/trigger/6f1c1d5e-8f7a-4b7e-9a55-2f4a0b0c9d11',
      'POST /partners/v1/spare-parts',
      'POST /partners/v1/spare-parts/attributes',
    ]);
    expect(hits[1]?.body).toEqual({ metadata: { episode: 'ep-1' } });
    expect(hits[3]?.body).toEqual([{ id: 'UPK-1', minimumStock: null }]);
  });

  it('triggers a maintenance plan with an empty body when there is no metadata', async () => {
    script = [{ status: 204 }];
    await client().client.triggerMaintenancePlan('6f1c1d5e-8f7a-4b7e-9a55-2f4a0b0c9d11');
    expect(hits[0]?.body).toEqual({});
  });

  it('refuses bad input before sending anything, naming the field', async () => {
    const { client: c } = client();
    const bad = await failure(c.scheduleTask({ ...TASK, description: 'x' }));
    expect(bad).toBeInstanceOf(MobilityWorkInputError);
    expect(bad.message).toContain('invalid input at description');
    const noAssignee = await failure(c.scheduleTask({ ...TASK, assignees: [] }));
    expect(noAssignee.message).toContain('assignees');
    const badStock = await failure(
      c.setStock([
        { id: 'A', quantity: 1 },
        { id: 'B', quantity: -1 },
      ]),
    );
    expect(badStock.message).toContain('invalid input at [1].quantity');
    const badPlan = await failure(c.triggerMaintenancePlan('not-a-uuid'));
    expect(badPlan).toBeInstanceOf(MobilityWorkInputError);
    expect(badPlan.message).toContain('invalid input at planId');
    expect(hits).toEqual([]);
  });

  it('refuses a typed id whose value is not of its type (an integer native id, a string e-mail or code) before sending', async () => {
    // api-doc.txt:1072 assignees and 1076 tags are "Array of strings or NativeIntegerIdentifier
    // (integer) or objects": a typed `native` is an integer; `email` and `code` are strings
    // (1003-1004). A native id given as a string or an e-mail as a number is a 400 at MW.
    const { client: c } = client();
    const nativeString = await failure(
      c.scheduleTask({ ...TASK, assignees: [{ type: 'native', value: '3' }] }),
    );
    expect(nativeString).toBeInstanceOf(MobilityWorkInputError);
    expect(nativeString.message).toContain('assignees');
    const emailNumber = await failure(c.scheduleTask({ ...TASK, assignees: [{ type: 'email', value: 3 }] }));
    expect(emailNumber.message).toContain('assignees');
    const tagNative = await failure(c.scheduleTask({ ...TASK, tags: [{ type: 'native', value: 'urgent' }] }));
    expect(tagNative.message).toContain('tags');
    const tagCode = await failure(c.scheduleTask({ ...TASK, tags: [{ type: 'code', value: 7 }] }));
    expect(tagCode.message).toContain('tags');
    // Equipment native ids "can be numbers or UUIDS" (api-doc.txt:117); an item code is a string.
    const equipmentNative = await failure(
      c.scheduleTask({ ...TASK, equipment: { type: 'native', value: 'EQ-1' } }),
    );
    expect(equipmentNative.message).toContain('equipment');
    const equipmentExternal = await failure(
      c.scheduleTask({ ...TASK, equipment: { type: 'external', value: 2507 } }),
    );
    expect(equipmentExternal.message).toContain('equipment');
    expect(hits).toEqual([]);
  });

  it("sends task dates in the doc's own form (MW_DATE_TIME_FORM): seconds, no fraction, a +hh:mm offset", async () => {
    // api-doc.txt:42-43, 1109-1110: every example is "2022-01-11T09:00:00+00:00"; the downtime flow
    // gives Date#toISOString() ("...T08:00:00.000Z"), a form no example shows.
    script = [
      { status: 201, body: 'null' },
      { status: 201, body: 'null' },
    ];
    const { client: c } = client();
    await c.scheduleTask({
      ...TASK,
      startDateTime: '2026-11-02T08:00:00.000Z',
      endDateTime: '2026-11-02T09:00:00.999Z',
    });
    expect(hits[0]?.body).toMatchObject({
      startDateTime: '2026-11-02T08:00:00+00:00',
      endDateTime: '2026-11-02T09:00:00+00:00',
    });
    // A given offset is kept.
    await c.scheduleTask({
      ...TASK,
      startDateTime: '2026-11-02T09:00:00.250+01:00',
      endDateTime: '2026-11-02T10:30:15.5-02:30',
    });
    expect(hits[1]?.body).toMatchObject({
      startDateTime: '2026-11-02T09:00:00+01:00',
      endDateTime: '2026-11-02T10:30:15-02:30',
    });
  });

  it('sends the typed ids the doc allows: integer native ids, a UUID native equipment id, e-mails and codes', async () => {
    script = [{ status: 201, body: 'null' }];
    await client().client.scheduleTask({
      ...TASK,
      equipment: { type: 'native', value: '4d4b9269-db6b-4b8f-8577-d01ef451d291' },
      assignees: [
        { type: 'native', value: 3 },
        { type: 'email', value: 'john.doe@example.com' },
      ],
      tags: [
        { type: 'native', value: 12 },
        { type: 'code', value: 'URGENT' },
      ],
    });
    expect(hits).toHaveLength(1);
  });

  it('refuses a fractional stock quantity (the doc says "integer >= 0") before sending, naming the item', async () => {
    const { client: c } = client();
    const e = await failure(
      c.setStock([
        { id: 'A', quantity: 3 },
        { id: 'B', quantity: 2.5 },
      ]),
    );
    expect(e).toBeInstanceOf(MobilityWorkInputError);
    expect(e.message).toContain('invalid input at [1].quantity');
    expect(e.message).toContain('expected int');
    expect(hits).toEqual([]);
  });
});

describe('MobilityWorkClient errors', () => {
  it('turns a 400 into MobilityWorkApiError naming the JSON pointers, with propertyErrors', async () => {
    script = [json(400, VALIDATION_ERROR, { 'request-id': 'req-42' })];
    const error = await failure(client().client.scheduleTask(TASK));
    expect(error).toBeInstanceOf(MobilityWorkApiError);
    const e = error as MobilityWorkApiError;
    expect(e.message).toBe(
      'mobility-work POST /partners/v1/tasks -> 400 400044 The request payload is not valid.: ' +
        '/assignees/0 error.payload.assignees.unknown {"type":"email","value":"x"} [Request-Id req-42]',
    );
    expect(e).toMatchObject({
      status: 400,
      code: '400044',
      requestId: 'req-42',
      retryable: false,
      globalErrors: [],
    });
    expect(e.propertyErrors).toEqual([
      {
        pointer: '/assignees/0',
        messageKey: 'error.payload.assignees.unknown',
        parameters: { type: 'email', value: 'x' },
      },
    ]);
    expect(hits).toHaveLength(1);
  });

  it('lists every property error of the documented example', async () => {
    const body = {
      ...VALIDATION_ERROR,
      extended_message: {
        global_errors: [],
        property_errors: {
          '/description': [{ messageKey: 'error.payload.min_length', parameters: { min: 3, length: 1 } }],
          '/equipment': [
            { messageKey: 'error.payload.equipment.unknown', parameters: { type: 'native', value: 99999 } },
          ],
        },
      },
    };
    script = [json(400, body)];
    const e = (await failure(client().client.scheduleTask(TASK))) as MobilityWorkApiError;
    expect(e.propertyErrors.map((p) => p.pointer)).toEqual(['/description', '/equipment']);
    expect(e.message).toContain('/description error.payload.min_length {"min":3,"length":1}; /equipment');
  });

  it('says "API key rejected (401001)", re-reads the key once, and does not repeat with the same key', async () => {
    script = [json(401, AUTH_ERROR)];
    const { client: c, keyReads } = client();
    const e = (await failure(c.getNetworkSettings())) as MobilityWorkApiError;
    expect(e).toBeInstanceOf(MobilityWorkApiError);
    expect(e.message).toBe(
      'mobility-work GET /partners/v1/network/settings -> 401 API key rejected (401001): Authentication error: Invalid Api Key.',
    );
    expect(e.retryable).toBe(false);
    expect(keyReads).toEqual([false, true]);
    expect(hits).toHaveLength(1);
  });

  it('retries once with a rotated key after a 401', async () => {
    script = [json(401, AUTH_ERROR), { status: 201, body: 'null' }];
    const { client: c, keyReads } = client({}, { keys: ['old-key-0001', 'new-key-0002'] });
    await expect(c.scheduleTask(TASK)).resolves.toEqual({ accepted: true });
    expect(keyReads).toEqual([false, true]);
    expect(hits.map((h) => h.headers['api-key'])).toEqual(['old-key-0001', 'new-key-0002']);
  });

  it('says the plan does not allow the API on a 403', async () => {
    script = [json(403, PLAN_ERROR)];
    const e = (await failure(client().client.setStock([{ id: 'A', quantity: 1 }]))) as MobilityWorkApiError;
    expect(e.message).toBe(
      'mobility-work POST /partners/v1/spare-parts/movements/bulk -> 403 plan does not allow this API (403): ' +
        'Subscription plan does not allow to use that API',
    );
    expect(e).toMatchObject({ status: 403, code: '403001', retryable: false });
  });

  it('gives a useful error for a body that is not in MW format, and never echoes the API key', async () => {
    script = [
      {
        status: 404,
        body: `<html>No route. key=${API_KEY}</html>`,
        headers: { 'content-type': 'text/html' },
      },
    ];
    const e = (await failure(client().client.getNetworkSettings())) as MobilityWorkApiError;
    expect(e.message).toBe(
      'mobility-work GET /partners/v1/network/settings -> 404 <html>No route. key=[REDACTED]</html>',
    );
    expect(e.code).toBeUndefined();
    expect(e.propertyErrors).toEqual([]);
  });

  it('retries a 5xx on a safe call, then succeeds', async () => {
    script = [{ status: 500, body: '' }, { status: 502, body: 'Bad gateway' }, json(200, SETTINGS)];
    const { client: c, delays } = client();
    await expect(c.getNetworkSettings()).resolves.toEqual(SETTINGS);
    expect(hits).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
  });

  it('gives up after the last attempt with a retryable MobilityWorkApiError', async () => {
    script = [json(500, { code: '500000', message: 'Internal error' }), { status: 500 }];
    const { client: c } = client({}, { http: { maxAttempts: 2 } });
    const e = (await failure(c.setStock([{ id: 'A', quantity: 4 }]))) as MobilityWorkApiError;
    expect(e).toBeInstanceOf(MobilityWorkApiError);
    expect(e).toMatchObject({ status: 500, retryable: true });
    expect(e.message).toMatch(/^mobility-work POST \/partners\/v1\/spare-parts\/movements\/bulk -> 500 /);
    expect(hits).toHaveLength(2);
  });

  it('retries a task on 503 (MW did not act) but never on 500 (it may have)', async () => {
    script = [{ status: 503 }, { status: 201, body: 'null' }];
    const { client: c } = client();
    await expect(c.scheduleTask(TASK)).resolves.toEqual({ accepted: true });
    expect(hits).toHaveLength(2);

    hits = [];
    script = [json(500, { code: '500000', message: 'Internal error' })];
    const e = await failure(c.scheduleTask(TASK));
    expect(e).toBeInstanceOf(AmbiguousWriteError);
    expect(((e as Error).cause as MobilityWorkApiError).message).toContain('-> 500 500000 Internal error');
    expect((e as AmbiguousWriteError).retryable).toBe(true);
    expect(hits).toHaveLength(1);
  });

  it('raises AmbiguousWriteError, without re-sending, when a task times out after sending', async () => {
    script = [{ status: 201, hang: true }];
    const { client: c } = client({}, { http: { timeoutMs: 150 } });
    const error = await failure(c.scheduleTask(TASK));
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect(hits).toHaveLength(1);
  });

  it('logs the Request-Id of a successful call', async () => {
    const log = memoryLog();
    script = [{ status: 201, body: 'null', headers: { 'request-id': 'req-7' } }];
    await client({}, { log }).client.scheduleTask(TASK);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        message: 'mobility-work call',
        extra: { operation: 'scheduleTask', status: 201, requestId: 'req-7' },
      }),
    );
  });
});

describe('MobilityWorkClient bulk writes', () => {
  const parts = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `P-${i}`, quantity: i }));

  it('splits at bulkLimit: 7 items with a limit of 3 are 3 requests of 3, 3 and 1, in order', async () => {
    const { client: c } = client({ bulkLimit: 3 });
    await expect(c.setStock(parts(7))).resolves.toEqual({ requests: 3, items: 7, status: 'accepted' });
    expect(hits.map((h) => (h.body as unknown[]).length)).toEqual([3, 3, 1]);
    expect(hits.flatMap((h) => (h.body as { id: string }[]).map((i) => i.id))).toEqual(
      parts(7).map((p) => p.id),
    );
  });

  it('sends one request up to the limit', async () => {
    const { client: c } = client({ bulkLimit: 3 });
    await expect(c.createSpareParts([{ ...NEW_PART, externalReference: 'A' }])).resolves.toEqual({
      requests: 1,
      items: 1,
      status: 'accepted',
    });
    expect(hits).toHaveLength(1);
  });

  it('sends nothing for an empty array', async () => {
    const { client: c, keyReads } = client();
    await expect(c.setStock([])).resolves.toEqual({ requests: 0, items: 0, status: 'accepted' });
    await expect(c.createSpareParts([])).resolves.toEqual({ requests: 0, items: 0, status: 'accepted' });
    await expect(c.updateSparePartAttributes([])).resolves.toEqual({
      requests: 0,
      items: 0,
      status: 'accepted',
    });
    expect(hits).toEqual([]);
    expect(keyReads).toEqual([]);
  });

  it('builds the documented stock body by default: {id, movement: {type: inventory, quantity}}', async () => {
    const typed = { type: 'externalReference' as const, value: 'UPK-2' };
    await client().client.setStock([
      { id: 'UPK-1', quantity: 4 },
      { id: typed, quantity: 0 },
    ]);
    // Every item carries the object the doc marks required; none is the deprecated PUT's shape.
    expect(hits[0]?.body).toEqual([
      { id: 'UPK-1', movement: { type: 'inventory', quantity: 4 } },
      { id: typed, movement: { type: 'inventory', quantity: 0 } },
    ]);
  });

  it('builds the same body when nested is configured explicitly', async () => {
    await client({ stockMovementFormat: 'nested' }).client.setStock([{ id: 'UPK-1', quantity: 4 }]);
    expect(hits[0]?.body).toEqual([{ id: 'UPK-1', movement: { type: 'inventory', quantity: 4 } }]);
  });

  it('builds the flat body {id, quantity} only when flat is opted into', async () => {
    await client({ stockMovementFormat: 'flat' }).client.setStock([{ id: 'UPK-1', quantity: 4 }]);
    expect(hits[0]?.body).toEqual([{ id: 'UPK-1', quantity: 4 }]);
  });

  it('refuses a create without the two required objects before sending anything', async () => {
    const { client: c } = client();
    const { unitPrice, location, ...bare } = NEW_PART;
    const noPrice = await failure(c.createSpareParts([{ ...bare, location } as typeof NEW_PART]));
    expect(noPrice).toBeInstanceOf(MobilityWorkInputError);
    expect(noPrice.message).toContain('invalid input at [0].unitPrice');
    const noLocation = await failure(c.createSpareParts([{ ...bare, unitPrice } as typeof NEW_PART]));
    expect(noLocation.message).toContain('invalid input at [0].location');
    expect(hits).toEqual([]);
  });

  it('reports what was accepted when a later request fails', async () => {
    script = [
      { status: 202, body: 'null' },
      json(400, {
        ...VALIDATION_ERROR,
        extended_message: {
          global_errors: [],
          property_errors: { '/0/quantity': [{ messageKey: 'error.payload.min', parameters: {} }] },
        },
      }),
    ];
    const { client: c } = client({ bulkLimit: 3 });
    const e = (await failure(c.setStock(parts(7)))) as MobilityWorkBulkError;
    expect(e).toBeInstanceOf(MobilityWorkBulkError);
    expect(e.accepted).toEqual({ requests: 1, items: 3 });
    expect([e.from, e.to]).toEqual([3, 6]);
    expect(e.retryable).toBe(false);
    expect(e.cause).toBeInstanceOf(MobilityWorkApiError);
    expect(e.message).toContain('/0/quantity error.payload.min');
    expect(hits).toHaveLength(2);
  });

  it('throws the API error itself when the first request fails', async () => {
    script = [json(403, PLAN_ERROR)];
    const e = await failure(client({ bulkLimit: 3 }).client.setStock(parts(7)));
    expect(e).toBeInstanceOf(MobilityWorkApiError);
    expect(hits).toHaveLength(1);
  });
});

describe('MobilityWorkClient.getNetworkSettings', () => {
  it('returns the validated settings', async () => {
    script = [json(200, SETTINGS)];
    await expect(client().client.getNetworkSettings()).resolves.toEqual(SETTINGS);
    expect(hits[0]?.line).toBe('GET /partners/v1/network/settings');
  });

  it.each([
    ['networkId', { ...SETTINGS, networkId: 686 }],
    ['timezone', { ...SETTINGS, timezone: undefined }],
    ['legacyNetworkId', { ...SETTINGS, legacyNetworkId: 'x' }],
  ])('raises VendorResponseError naming %s when it is wrong', async (field, body) => {
    script = [json(200, body)];
    const e = (await failure(client().client.getNetworkSettings())) as VendorResponseError;
    expect(e).toBeInstanceOf(VendorResponseError);
    expect(e.field).toBe(field);
    expect(e.message).toContain(`unexpected response at ${field}`);
  });

  it('raises VendorResponseError for a null body', async () => {
    script = [{ status: 200, body: 'null' }];
    expect(await failure(client().client.getNetworkSettings())).toBeInstanceOf(VendorResponseError);
  });
});

describe('a 2xx that is no Mobility Work answer (an outage page)', () => {
  const page: Reply = {
    status: 200,
    body: '<html><body>Down for maintenance</body></html>',
    headers: { 'content-type': 'text/html' },
  };

  it('a stock write answered 200 with an HTML page is a retryable error naming the body, not a success', async () => {
    script = [page];
    const e = await failure(client().client.setStock([{ id: 'A', quantity: 4 }]));
    expect(e).toBeInstanceOf(VendorResponseError);
    expect(e).toMatchObject({ field: '', retryable: true });
    expect(e.message).toMatch(/setStock.*not JSON/);
  });

  it('so is a 2xx whose JSON body is an error (http_status_code >= 400)', async () => {
    script = [json(200, { http_status_code: 503, message: 'Service in maintenance' })];
    const e = await failure(client().client.updateSparePartAttributes([{ id: 'A', minimumStock: 2 }]));
    expect(e).toBeInstanceOf(VendorResponseError);
    expect(e).toMatchObject({ field: 'http_status_code', retryable: true });
  });

  it('a spare-part create answered so may have been made: ambiguous, never a success nor a plain retry', async () => {
    script = [page];
    const e = await failure(client().client.createSpareParts([NEW_PART]));
    expect(e).toBeInstanceOf(AmbiguousWriteError);
  });

  it('so is a task create answered 200 with an HTML page (it would otherwise wait for a webhook that never comes)', async () => {
    script = [page, page];
    expect(await failure(client().client.scheduleTask(TASK))).toBeInstanceOf(AmbiguousWriteError);
    expect(
      await failure(client().client.triggerMaintenancePlan('6f1c1d5e-8f7a-4b7e-9a55-2f4a0b0c9d11')),
    ).toBeInstanceOf(AmbiguousWriteError);
  });
});

describe('connectMobilityWork and the config', () => {
  const env = (vendor: unknown, secrets = staticSecretSource({ [SECRET_NAME]: { apiKey: API_KEY } })) =>
    testEnv({} as StateStore, { vendors: { 'mobility-work': vendor }, secrets });

  it('builds a client from env.vendors["mobility-work"] and reads the secret only at the first call', async () => {
    const secrets = staticSecretSource({ [SECRET_NAME]: { apiKey: API_KEY } });
    const c = connectMobilityWork(env({ baseUrl, secretName: SECRET_NAME }, secrets), {
      http: { sleep: async () => {} },
    });
    expect(secrets.reads).toEqual([]);
    script = [json(200, SETTINGS)];
    await c.getNetworkSettings();
    expect(secrets.reads).toEqual([SECRET_NAME]);
    expect(hits[0]?.headers['api-key']).toBe(API_KEY);
  });

  it('applies the defaults', () => {
    expect(parseMobilityWorkConfig({ secretName: SECRET_NAME })).toEqual({
      baseUrl: 'https://api.mobility-work.com',
      secretName: SECRET_NAME,
      userAgent: 'Millwright (+https://github.com/millwright)',
      bulkLimit: 10_000,
      stockMovementFormat: 'nested',
      webhook: { signatureScheme: 't.nonce.body', toleranceSeconds: 300, requireSignature: true },
    });
  });

  it.each([
    [undefined, 'vendors.mobility-work'],
    [{}, 'vendors.mobility-work.secretName'],
    [{ secretName: 's', bulkLimit: 10_001 }, 'vendors.mobility-work.bulkLimit'],
    [{ secretName: 's', networkId: 'net-1' }, 'vendors.mobility-work.networkId'],
    [{ secretName: 's', stockMovementFormat: 'delta' }, 'vendors.mobility-work.stockMovementFormat'],
    [
      { secretName: 's', webhook: { signatureScheme: 'sha1' } },
      'vendors.mobility-work.webhook.signatureScheme',
    ],
    [{ secretName: 's', webhook: { toleranceSeconds: 5 } }, 'vendors.mobility-work.webhook.toleranceSeconds'],
  ])('a bad config %j throws ConfigError at %s', (value, path) => {
    expect(() => connectMobilityWork(env(value))).toThrow(ConfigError);
    expect(() => parseMobilityWorkConfig(value)).toThrow(expect.objectContaining({ path }));
  });
});
