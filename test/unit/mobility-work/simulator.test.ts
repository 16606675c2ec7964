import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  computeMwSignature,
  type MwSignatureScheme,
  parseMwSignatureHeader,
} from '../../../functions/connectors/mobility-work/signature.ts';
import {
  type MobilityWorkSimulator,
  type MobilityWorkSimulatorOptions,
  MW_SIM_DEFAULT_NETWORK_ID,
  MW_SIM_MAINTENANCE_PLAN_ID,
  startMobilityWorkSimulator,
} from '../../../functions/connectors/mobility-work/simulator/index.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';

const API_KEY = '913a8f7cef6ff084f1635511b9c7d07c3bab2816';
const SECRET = 'whsec-mw-0123456789abcdef';
const START = '2026-11-02T08:00:00.000Z';

// ---------------------------------------------------------------------------------------------
// A receiver that records webhook requests and can be told what to answer.

interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON payloads.
  body: any;
}

let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** Statuses to answer with, in order; 200 once empty. */
let answers: number[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, rawBody, body: JSON.parse(rawBody) });
      res.writeHead(answers.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/mobility-work`;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

// ---------------------------------------------------------------------------------------------
// Simulators: a fresh one per test, closed afterwards.

let clock: Clock;
const started: MobilityWorkSimulator[] = [];

async function start(
  overrides: Partial<MobilityWorkSimulatorOptions> & { scheme?: MwSignatureScheme } = {},
): Promise<MobilityWorkSimulator> {
  const { scheme = 't.nonce.body', ...rest } = overrides;
  const sim = await startMobilityWorkSimulator({
    clock,
    apiKey: API_KEY,
    webhook: { url: receiverUrl, secret: SECRET, scheme, retryDelayMs: 1 },
    ...rest,
  });
  started.push(sim);
  return sim;
}

beforeEach(() => {
  clock = manualClock(START);
  received.length = 0;
  answers = [];
});
afterEach(async () => {
  for (const sim of started.splice(0)) await sim.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON answers.
  body: any;
}

async function call(
  sim: MobilityWorkSimulator,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; key?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = options.key === undefined ? API_KEY : options.key;
  if (key !== null && !path.startsWith('/_sandbox')) headers['api-key'] = key;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const res = await fetch(`${sim.url}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

const validTask = (overrides: Record<string, unknown> = {}) => ({
  equipment: 2507,
  description: 'Spindle vibration on Mill 01',
  startDateTime: '2026-11-02T09:00:00+01:00',
  endDateTime: '2026-11-02T10:00:00+01:00',
  allDay: false,
  assignees: [3, 'planner@plant.example'],
  metadata: { millwrightKey: 'ep-1', source: 'millwright' },
  ...overrides,
});

/** A spare-part create with the two required objects (MW_SPARE_PART_REQUIRED_OBJECTS, assumed names). */
const NEW_PART = {
  externalReference: 'PartNew00',
  name: 'New part',
  unitPrice: { amount: 640, currency: 'EUR' },
  location: { locationName: 'Main store' },
};

/** A `movements/bulk` item in the documented shape: identifier + the required movement object. */
const move = (id: unknown, quantity: unknown) => ({ id, movement: { type: 'inventory', quantity } });

const stockOf = (sim: MobilityWorkSimulator, ref: string) =>
  sim.spareParts().find((p) => p.externalReference === ref)?.stock;
const eventNames = () => received.map((r) => r.body._event as string);

// ---------------------------------------------------------------------------------------------

describe('Mobility Work simulator: auth, errors and network settings', () => {
  it('answers 401 in MW format to a missing or wrong Api-Key', async () => {
    const sim = await start();
    const expected = {
      http_status_code: 401,
      code: '401001',
      message: 'Authentication error',
      extended_message: {
        global_errors: [{ messageKey: 'Invalid Api Key.', parameters: {} }],
        property_errors: {},
      },
      more_info_url: null,
    };
    const missing = await call(sim, 'GET', '/partners/v1/network/settings', { key: null });
    const wrong = await call(sim, 'POST', '/partners/v1/tasks', { key: 'nope', body: validTask() });
    expect(missing).toMatchObject({ status: 401, body: expected });
    expect(wrong).toMatchObject({ status: 401, body: expected });
    expect(sim.tasks()).toEqual([]);
  });

  it('returns the network settings with a Request-Id header', async () => {
    const sim = await start();
    const res = await call(sim, 'GET', '/partners/v1/network/settings');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      networkId: MW_SIM_DEFAULT_NETWORK_ID,
      legacyNetworkId: 686,
      name: 'Sandbox plant',
      timezone: 'Europe/Paris',
      currency: 'EUR',
    });
    expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const sim = await start();
    const res = await call(sim, 'POST', '/partners/v1/tasks', { raw: '{not json' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('400044');
    expect(res.body.extended_message.global_errors[0].messageKey).toBe('error.payload.malformed_json');
  });

  it('answers 400 malformed_json to a string holding half an emoji (a lone surrogate escape), like a strict JSON parser', async () => {
    const sim = await start();
    const raw = JSON.stringify(validTask({ description: 'Spindle 🔧'.slice(0, -1) }));
    expect(raw).toContain('\\ud83d');
    const res = await call(sim, 'POST', '/partners/v1/tasks', { raw });
    expect(res.status).toBe(400);
    expect(res.body.extended_message.global_errors[0].messageKey).toBe('error.payload.malformed_json');
    expect(sim.tasks()).toHaveLength(0);
  });

  it('counts a description in characters: 3000 emoji (6000 UTF-16 units) are accepted, 3001 refused', async () => {
    const sim = await start();
    expect(
      (await call(sim, 'POST', '/partners/v1/tasks', { body: validTask({ description: '🔧'.repeat(3000) }) }))
        .status,
    ).toBe(201);
    const res = await call(sim, 'POST', '/partners/v1/tasks', {
      body: validTask({ description: '🔧'.repeat(3001) }),
    });
    expect(res.body.extended_message.property_errors['/description'][0]).toEqual({
      messageKey: 'error.payload.max_length',
      parameters: { max: 3000, length: 3001 },
    });
  });
});

describe('Mobility Work simulator: tasks', () => {
  it('validates a task and reports every problem under its JSON pointer', async () => {
    const sim = await start();
    const res = await call(sim, 'POST', '/partners/v1/tasks', {
      body: {
        equipment: 99999,
        description: 'x',
        startDateTime: '2026-11-02 09:00',
        endDateTime: '2026-11-02T10:00:00+01:00',
        assignees: ['jason.doe@example.com', 3, 'john.doe@example.com', { type: 'native', value: 77 }],
        metadata: ['not', 'an', 'object'],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ http_status_code: 400, code: '400044', more_info_url: null });
    expect(res.body.extended_message.property_errors).toEqual({
      '/equipment': [
        { messageKey: 'error.payload.equipment.unknown', parameters: { type: 'native', value: 99999 } },
      ],
      '/description': [{ messageKey: 'error.payload.min_length', parameters: { min: 3, length: 1 } }],
      '/startDateTime': [expect.objectContaining({ messageKey: 'error.payload.date_time' })],
      '/allDay': [{ messageKey: 'error.payload.required', parameters: {} }],
      '/assignees/0': [
        {
          messageKey: 'error.payload.assignees.unknown',
          parameters: { type: 'email', value: 'jason.doe@example.com' },
        },
      ],
      '/assignees/2': [
        {
          messageKey: 'error.payload.assignees.unknown',
          parameters: { type: 'email', value: 'john.doe@example.com' },
        },
      ],
      '/assignees/3': [
        { messageKey: 'error.payload.assignees.unknown', parameters: { type: 'native', value: 77 } },
      ],
      '/metadata': [{ messageKey: 'error.payload.type', parameters: { expected: 'object' } }],
    });
    expect(sim.tasks()).toEqual([]);
  });

  it('accepts what the doc sets no rule for: no assignee ([]) and an end before the start', async () => {
    const sim = await start();
    const empty = await call(sim, 'POST', '/partners/v1/tasks', { body: validTask({ assignees: [] }) });
    expect(empty.status).toBe(201);
    const backwards = await call(sim, 'POST', '/partners/v1/tasks', {
      body: validTask({
        startDateTime: '2026-11-02T10:00:00+01:00',
        endDateTime: '2026-11-02T09:00:00+01:00',
      }),
    });
    expect(backwards.status).toBe(201);
    expect(sim.tasks().map((t) => t.assignees.length)).toEqual([0, 2]);
  });

  it('takes a typed native equipment id that is a UUID (api-doc.txt:117: "numbers or UUIDS") and looks it up; a string that is no UUID is a type error', async () => {
    const sim = await start();
    const uuid = '4d4b9269-db6b-4b8f-8577-d01ef451d291';
    const res = await call(sim, 'POST', '/partners/v1/tasks', {
      body: validTask({ equipment: { type: 'native', value: uuid } }),
    });
    expect(res.status).toBe(400);
    expect(res.body.extended_message.property_errors['/equipment']).toEqual([
      { messageKey: 'error.payload.equipment.unknown', parameters: { type: 'native', value: uuid } },
    ]);
    const notUuid = await call(sim, 'POST', '/partners/v1/tasks', {
      body: validTask({ equipment: { type: 'native', value: 'EQ-MILL-01' } }),
    });
    expect(Object.keys(notUuid.body.extended_message.property_errors)).toEqual(['/equipment/value']);
  });

  it('requires known equipment item codes', async () => {
    const sim = await start();
    const code = await call(sim, 'POST', '/partners/v1/tasks', { body: validTask({ equipment: 'EQ-NOPE' }) });
    expect(code.body.extended_message.property_errors['/equipment']).toEqual([
      { messageKey: 'error.payload.equipment.unknown', parameters: { type: 'external', value: 'EQ-NOPE' } },
    ]);
    const typed = await call(sim, 'POST', '/partners/v1/tasks', {
      body: validTask({ equipment: { type: 'serial', value: 'x' } }),
    });
    expect(Object.keys(typed.body.extended_message.property_errors)).toEqual(['/equipment/type']);
  });

  it('creates a task: 201 with a null body, an 8-hex id, and resolves every equipment identifier form', async () => {
    const sim = await start();
    const forms = [
      2507,
      'EQ-LATHE-02',
      { type: 'external', value: 'EQ-PRESS-03' },
      { type: 'native', value: 2508 },
    ];
    for (const equipment of forms) {
      const res = await call(sim, 'POST', '/partners/v1/tasks', { body: validTask({ equipment }) });
      expect(res.status).toBe(201);
      expect(res.text).toBe('null');
    }
    const tasks = sim.tasks();
    expect(tasks.map((t) => t.equipment.id)).toEqual([2507, 2508, 2509, 2508]);
    expect(tasks[0]).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{8}$/),
      state: 'scheduled',
      description: 'Spindle vibration on Mill 01',
      metadata: { millwrightKey: 'ep-1', source: 'millwright' },
      createdAt: '2026-11-02T08:00:00+00:00',
    });
    expect(tasks[0]?.legacyId).toBe(tasks[0]?.id);
    expect(tasks[0]?.assignees.map((a) => a.id)).toEqual([3, 4]);
  });

  it('sends TaskWasScheduled in the contract shape, signed, with the MW User-Agent', async () => {
    const sim = await start();
    await call(sim, 'POST', '/partners/v1/tasks', { body: validTask() });
    await sim.settle();
    expect(received).toHaveLength(1);
    const [hit] = received;
    const taskId = sim.tasks()[0]?.id;
    expect(hit?.headers['user-agent']).toBe('Mobility Work - Webhook Service v1');
    expect(hit?.headers['content-type']).toBe('application/json');
    expect(hit?.body).toEqual({
      _event: 'TaskWasScheduled',
      _idempotencyKey: expect.stringMatching(/^[A-Za-z0-9]{10}$/),
      taskId,
      scheduled: {
        at: '2026-11-02T08:00:00+00:00',
        startDateTime: '2026-11-02T09:00:00+01:00',
        endDateTime: '2026-11-02T10:00:00+01:00',
      },
      associatedTo: { equipment: { id: 2507, itemCode: 'EQ-MILL-01', name: 'Mill 01' } },
      tags: [],
      requiredSpareParts: [],
      metadata: { millwrightKey: 'ep-1', source: 'millwright' },
      networkId: MW_SIM_DEFAULT_NETWORK_ID,
    });
    const parts = parseMwSignatureHeader(hit?.headers['x-mw-signature'] as string);
    expect(parts?.t).toBe(String(Date.parse(START) / 1000));
    expect(parts?.nonce).toMatch(/^[0-9a-f]{40}$/);
    expect(parts?.signature).toBe(
      computeMwSignature(SECRET, 't.nonce.body', parts?.t ?? '', parts?.nonce ?? '', hit?.rawBody ?? ''),
    );
  });

  it('signs with the configured scheme', async () => {
    for (const scheme of ['tnoncebody', 't.body', 'body'] as const) {
      received.length = 0;
      const sim = await start({ scheme });
      sim.recount('PartSeal2210', 7);
      await sim.settle();
      const hit = received[0];
      const parts = parseMwSignatureHeader(hit?.headers['x-mw-signature'] as string);
      expect(parts?.signature).toBe(
        computeMwSignature(SECRET, scheme, parts?.t ?? '', parts?.nonce ?? '', hit?.rawBody ?? ''),
      );
      expect(parts?.signature).not.toBe(
        computeMwSignature(SECRET, 't.nonce.body', parts?.t ?? '', parts?.nonce ?? '', hit?.rawBody ?? ''),
      );
    }
  });

  it('sends no X-MW-Signature when no secret is configured', async () => {
    const sim = await start({ webhook: { url: receiverUrl, scheme: 't.nonce.body' } });
    sim.recount('PartSeal2210', 7);
    await sim.settle();
    expect(received).toHaveLength(1);
    expect(received[0]?.headers['x-mw-signature']).toBeUndefined();
  });

  it('triggers the seeded maintenance plan (204) and refuses unknown plans with /maintenancePlanId', async () => {
    const sim = await start();
    const res = await call(sim, 'POST', `/partners/maintenance-plans/trigger/${MW_SIM_MAINTENANCE_PLAN_ID}`, {
      body: { metadata: { internalIdentifier: 1234 } },
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(sim.tasks()[0]).toMatchObject({
      equipment: { id: 2507 },
      metadata: { internalIdentifier: 1234 },
      origin: { type: 'maintenance-plan', maintenancePlanId: MW_SIM_MAINTENANCE_PLAN_ID },
    });
    const unknown = await call(
      sim,
      'POST',
      '/partners/maintenance-plans/trigger/00000000-0000-4000-8000-000000000000',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.extended_message.property_errors['/maintenancePlanId'][0].messageKey).toBe(
      'error.payload.maintenance_plan.unknown',
    );
    const malformed = await call(sim, 'POST', '/partners/maintenance-plans/trigger/not-a-uuid');
    expect(malformed.body.extended_message.property_errors['/maintenancePlanId'][0].messageKey).toBe(
      'error.payload.format',
    );
    await sim.settle();
    expect(eventNames()).toEqual(['TaskWasScheduled']);
  });
});

// ---------------------------------------------------------------------------------------------
// The request contract: every field api-doc.txt marks required, with its documented type and
// constraints, is enforced (400 naming the field); fields it marks optional or nullable are accepted
// when absent or null. One row per rule.

const without = (body: Record<string, unknown>, key: string) => {
  const { [key]: _dropped, ...rest } = body;
  return rest;
};
const TRIGGER = `/partners/maintenance-plans/trigger/${MW_SIM_MAINTENANCE_PLAN_ID}`;
const SPARE_PARTS = '/partners/v1/spare-parts';
const ATTRIBUTES = '/partners/v1/spare-parts/attributes';
const MOVEMENTS = '/partners/v1/spare-parts/movements/bulk';
const STOCK = '/partners/v1/spare-parts/stock';
const EQUIPMENT = '/partners/v1/equipment/attributes';
const LOCATIONS = '/partners/v1/locations/create/bulk';
const RELOCATE = '/partners/v1/spare-parts/relocate/bulk';
const BULK_ENDPOINTS = [
  ['POST', SPARE_PARTS],
  ['POST', ATTRIBUTES],
  ['POST', MOVEMENTS],
  ['PUT', STOCK],
  ['POST', EQUIPMENT],
  ['POST', LOCATIONS],
  ['POST', RELOCATE],
] as const;
const RELOCATION = { sparePartId: 'PartSeal2210', target: { locationName: 'Main store' } };

interface Rule {
  rule: string;
  method?: 'POST' | 'PUT';
  path: string;
  body: unknown;
  pointer: string;
  messageKey: string;
}

const task = validTask();
const CONTRACT_RULES: Rule[] = [
  // POST /partners/v1/tasks (Schedule a new task)
  {
    rule: 'task equipment is required',
    path: '/partners/v1/tasks',
    body: without(task, 'equipment'),
    pointer: '/equipment',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'task equipment is an integer, string or object',
    path: '/partners/v1/tasks',
    body: { ...task, equipment: true },
    pointer: '/equipment',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task description is required',
    path: '/partners/v1/tasks',
    body: without(task, 'description'),
    pointer: '/description',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'task description has at least 3 characters',
    path: '/partners/v1/tasks',
    body: { ...task, description: 'ab' },
    pointer: '/description',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'task description has at most 3000 characters',
    path: '/partners/v1/tasks',
    body: { ...task, description: 'x'.repeat(3001) },
    pointer: '/description',
    messageKey: 'error.payload.max_length',
  },
  {
    rule: 'task startDateTime is required',
    path: '/partners/v1/tasks',
    body: without(task, 'startDateTime'),
    pointer: '/startDateTime',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'task startDateTime is a date-time',
    path: '/partners/v1/tasks',
    body: { ...task, startDateTime: '2026-11-02' },
    pointer: '/startDateTime',
    messageKey: 'error.payload.date_time',
  },
  {
    rule: 'task endDateTime is required',
    path: '/partners/v1/tasks',
    body: without(task, 'endDateTime'),
    pointer: '/endDateTime',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'task endDateTime is a date-time',
    path: '/partners/v1/tasks',
    body: { ...task, endDateTime: 1_700_000_000 },
    pointer: '/endDateTime',
    messageKey: 'error.payload.date_time',
  },
  {
    rule: 'task allDay is required',
    path: '/partners/v1/tasks',
    body: without(task, 'allDay'),
    pointer: '/allDay',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'task allDay is a boolean',
    path: '/partners/v1/tasks',
    body: { ...task, allDay: 'false' },
    pointer: '/allDay',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task assignees is required',
    path: '/partners/v1/tasks',
    body: without(task, 'assignees'),
    pointer: '/assignees',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'task assignees is an array',
    path: '/partners/v1/tasks',
    body: { ...task, assignees: 3 },
    pointer: '/assignees',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task tags is an array',
    path: '/partners/v1/tasks',
    body: { ...task, tags: 'urgent' },
    pointer: '/tags',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task tags are integers, strings or objects',
    path: '/partners/v1/tasks',
    body: { ...task, tags: [true] },
    pointer: '/tags/0',
    messageKey: 'error.payload.type',
  },
  {
    // api-doc.txt:1004: "For tags you can mix both native and code identifiers".
    rule: 'task typed tags are native or code',
    path: '/partners/v1/tasks',
    body: { ...task, tags: [{ type: 'email', value: 'tech@plant.example' }] },
    pointer: '/tags/0/type',
    messageKey: 'error.payload.choice',
  },
  {
    // api-doc.txt:1076: tags are "strings or NativeIntegerIdentifier (integer) or objects".
    rule: 'task typed native tag is an integer',
    path: '/partners/v1/tasks',
    body: { ...task, tags: [{ type: 'native', value: 'urgent' }] },
    pointer: '/tags/0/value',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task typed code tag is a string',
    path: '/partners/v1/tasks',
    body: { ...task, tags: [{ type: 'code', value: 7 }] },
    pointer: '/tags/0/value',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task checklist is a uuid',
    path: '/partners/v1/tasks',
    body: { ...task, checklist: 'list-1' },
    pointer: '/checklist',
    messageKey: 'error.payload.format',
  },
  {
    rule: 'task sendEmailToAssignees is a boolean',
    path: '/partners/v1/tasks',
    body: { ...task, sendEmailToAssignees: 1 },
    pointer: '/sendEmailToAssignees',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task inheritEquipmentTags is a boolean',
    path: '/partners/v1/tasks',
    body: { ...task, inheritEquipmentTags: 'yes' },
    pointer: '/inheritEquipmentTags',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task emailToCreator is a boolean',
    path: '/partners/v1/tasks',
    body: { ...task, emailToCreator: 0 },
    pointer: '/emailToCreator',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task metadata is an object',
    path: '/partners/v1/tasks',
    body: { ...task, metadata: 'ep-1' },
    pointer: '/metadata',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'task body is an object',
    path: '/partners/v1/tasks',
    body: [task],
    pointer: '',
    messageKey: 'error.payload.type',
  },
  // POST /partners/maintenance-plans/trigger/{maintenancePlanId}
  {
    rule: 'plan trigger maintenancePlanId is a uuid',
    path: '/partners/maintenance-plans/trigger/plan-1',
    body: {},
    pointer: '/maintenancePlanId',
    messageKey: 'error.payload.format',
  },
  {
    rule: 'plan trigger metadata is an object',
    path: TRIGGER,
    body: { metadata: [1] },
    pointer: '/metadata',
    messageKey: 'error.payload.type',
  },
  // POST /partners/v1/spare-parts (Create spare part(s))
  {
    rule: 'create externalReference is required',
    path: SPARE_PARTS,
    body: [without(NEW_PART, 'externalReference')],
    pointer: '/0/externalReference',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'create externalReference is a string',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, externalReference: 7 }],
    pointer: '/0/externalReference',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'create name is required',
    path: SPARE_PARTS,
    body: [without(NEW_PART, 'name')],
    pointer: '/0/name',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'create name has at least 3 characters',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, name: 'ab' }],
    pointer: '/0/name',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'create name has at most 255 characters',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, name: 'x'.repeat(256) }],
    pointer: '/0/name',
    messageKey: 'error.payload.max_length',
  },
  {
    rule: 'create description has 3..3000 characters',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, description: 'ab' }],
    pointer: '/0/description',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'create unitPrice (a required object) is required',
    path: SPARE_PARTS,
    body: [without(NEW_PART, 'unitPrice')],
    pointer: '/0/unitPrice',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'create unitPrice is an object',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, unitPrice: 640 }],
    pointer: '/0/unitPrice',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'create unitPrice amount is an integer (minor units)',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, unitPrice: { amount: 6.4, currency: 'EUR' } }],
    pointer: '/0/unitPrice/amount',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'create unitPrice currency is required',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, unitPrice: { amount: 640 } }],
    pointer: '/0/unitPrice/currency',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'create unitPrice currency is a non-empty string',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, unitPrice: { amount: 640, currency: '' } }],
    pointer: '/0/unitPrice/currency',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'attributes unitPrice amount is an integer (minor units)',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', unitPrice: { amount: 35.5, currency: 'EUR' } }],
    pointer: '/0/unitPrice/amount',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'create location (a required object) is required',
    path: SPARE_PARTS,
    body: [without(NEW_PART, 'location')],
    pointer: '/0/location',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'create location is an object',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, location: 'Main store' }],
    pointer: '/0/location',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'create minimumStock is >= 0',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, minimumStock: -1 }],
    pointer: '/0/minimumStock',
    messageKey: 'error.payload.min',
  },
  {
    rule: 'create minimumStock is an integer',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, minimumStock: 1.5 }],
    pointer: '/0/minimumStock',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'create maximumStock is >= 0',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, maximumStock: -2 }],
    pointer: '/0/maximumStock',
    messageKey: 'error.payload.min',
  },
  {
    rule: 'create gtin matches ^[0-9]{8,18}$',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, gtin: '1234' }],
    pointer: '/0/gtin',
    messageKey: 'error.payload.pattern',
  },
  {
    rule: 'create costCenter is a string',
    path: SPARE_PARTS,
    body: [{ ...NEW_PART, costCenter: 42 }],
    pointer: '/0/costCenter',
    messageKey: 'error.payload.type',
  },
  // PUT /partners/v1/spare-parts/stock (deprecated)
  {
    rule: 'stock id is required',
    method: 'PUT',
    path: STOCK,
    body: [{ quantity: 1 }],
    pointer: '/0/id',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'stock quantity is required',
    method: 'PUT',
    path: STOCK,
    body: [{ id: 'PartSeal2210' }],
    pointer: '/0/quantity',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'stock quantity is >= 0',
    method: 'PUT',
    path: STOCK,
    body: [{ id: 'PartSeal2210', quantity: -1 }],
    pointer: '/0/quantity',
    messageKey: 'error.payload.min',
  },
  {
    rule: 'stock quantity is an integer',
    method: 'PUT',
    path: STOCK,
    body: [{ id: 'PartSeal2210', quantity: 0.5 }],
    pointer: '/0/quantity',
    messageKey: 'error.payload.type',
  },
  // POST /partners/v1/spare-parts/attributes
  {
    rule: 'attributes id is required',
    path: ATTRIBUTES,
    body: [{ name: 'Rotor' }],
    pointer: '/0/id',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'attributes typed id is an externalReference',
    path: ATTRIBUTES,
    body: [{ id: { type: 'native', value: 'sp-1' } }],
    pointer: '/0/id/type',
    messageKey: 'error.payload.choice',
  },
  {
    rule: 'attributes name has 3..255 characters',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', name: 'ab' }],
    pointer: '/0/name',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'attributes description has 3..3000 characters',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', description: 'ab' }],
    pointer: '/0/description',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'attributes minimumStock is >= 0',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', minimumStock: -1 }],
    pointer: '/0/minimumStock',
    messageKey: 'error.payload.min',
  },
  {
    rule: 'attributes maximumStock is a number',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', maximumStock: '5' }],
    pointer: '/0/maximumStock',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'attributes replenishmentLot is >= 0',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', replenishmentLot: -3 }],
    pointer: '/0/replenishmentLot',
    messageKey: 'error.payload.min',
  },
  {
    rule: 'attributes unitPrice is an object',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', unitPrice: 3500 }],
    pointer: '/0/unitPrice',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'attributes gtin matches ^[0-9]{8,18}$',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', gtin: 'ABCDEFGH' }],
    pointer: '/0/gtin',
    messageKey: 'error.payload.pattern',
  },
  {
    // api-doc.txt:590-593: "Array of objects / A list of tags changes to apply to the spare part".
    rule: 'attributes tags is an array of objects',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', tags: ['urgent'] }],
    pointer: '/0/tags/0',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'attributes costCenter is a string',
    path: ATTRIBUTES,
    body: [{ id: 'PartSeal2210', costCenter: ['CC'] }],
    pointer: '/0/costCenter',
    messageKey: 'error.payload.type',
  },
  // POST /partners/v1/spare-parts/movements/bulk (Bulk Stock Movement)
  {
    rule: 'movement id is required',
    path: MOVEMENTS,
    body: [without(move('x', 1), 'id')],
    pointer: '/0/id',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'movement id is a string or object',
    path: MOVEMENTS,
    body: [move(42, 1)],
    pointer: '/0/id',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'movement object is required (a flat {id, quantity} item has none)',
    path: MOVEMENTS,
    body: [{ id: 'PartSeal2210', quantity: 1 }],
    pointer: '/0/movement',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'movement is an object',
    path: MOVEMENTS,
    body: [{ id: 'PartSeal2210', movement: [1] }],
    pointer: '/0/movement',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'movement type is required (assumed field)',
    path: MOVEMENTS,
    body: [{ id: 'PartSeal2210', movement: { quantity: 1 } }],
    pointer: '/0/movement/type',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'movement quantity is required (assumed field)',
    path: MOVEMENTS,
    body: [{ id: 'PartSeal2210', movement: { type: 'inventory' } }],
    pointer: '/0/movement/quantity',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'movement quantity is >= 0',
    path: MOVEMENTS,
    body: [move('PartSeal2210', -1)],
    pointer: '/0/movement/quantity',
    messageKey: 'error.payload.min',
  },
  {
    rule: 'movement quantity is an integer',
    path: MOVEMENTS,
    body: [move('PartSeal2210', 2.5)],
    pointer: '/0/movement/quantity',
    messageKey: 'error.payload.type',
  },
  // POST /partners/v1/equipment/attributes
  {
    rule: 'equipment id is required',
    path: EQUIPMENT,
    body: [{ name: 'Press 3' }],
    pointer: '/0/id',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'equipment typed id type is known',
    path: EQUIPMENT,
    body: [{ id: { type: 'serial', value: 'x' } }],
    pointer: '/0/id/type',
    messageKey: 'error.payload.choice',
  },
  {
    rule: 'equipment name has 3..255 characters',
    path: EQUIPMENT,
    body: [{ id: 2509, name: 'P3' }],
    pointer: '/0/name',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'equipment description has 3..3000 characters',
    path: EQUIPMENT,
    body: [{ id: 2509, description: 'ab' }],
    pointer: '/0/description',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'equipment gtin matches ^[0-9]{8,18}$',
    path: EQUIPMENT,
    body: [{ id: 2509, gtin: '12' }],
    pointer: '/0/gtin',
    messageKey: 'error.payload.pattern',
  },
  {
    rule: 'equipment costCenter has 3..255 characters',
    path: EQUIPMENT,
    body: [{ id: 2509, costCenter: 'CC' }],
    pointer: '/0/costCenter',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'equipment itemCode has 1..255 characters',
    path: EQUIPMENT,
    body: [{ id: 2509, itemCode: '' }],
    pointer: '/0/itemCode',
    messageKey: 'error.payload.min_length',
  },
  {
    rule: 'equipment tags is an array',
    path: EQUIPMENT,
    body: [{ id: 2509, tags: 'press' }],
    pointer: '/0/tags',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'equipment tags are strings',
    path: EQUIPMENT,
    body: [{ id: 2509, tags: [7] }],
    pointer: '/0/tags/0',
    messageKey: 'error.payload.type',
  },
  // POST /partners/v1/locations/create/bulk
  {
    rule: 'location name is required',
    path: LOCATIONS,
    body: [{}],
    pointer: '/0/name',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'location name has at most 255 characters',
    path: LOCATIONS,
    body: [{ name: 'x'.repeat(256) }],
    pointer: '/0/name',
    messageKey: 'error.payload.max_length',
  },
  {
    rule: 'location name matches ^(?!$)\\w',
    path: LOCATIONS,
    body: [{ name: ' cabinet' }],
    pointer: '/0/name',
    messageKey: 'error.payload.pattern',
  },
  // POST /partners/v1/spare-parts/relocate/bulk
  {
    rule: 'relocation spare part identifier is required',
    path: RELOCATE,
    body: [without(RELOCATION, 'sparePartId')],
    pointer: '/0/sparePartId',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'relocation target is required',
    path: RELOCATE,
    body: [without(RELOCATION, 'target')],
    pointer: '/0/target',
    messageKey: 'error.payload.required',
  },
  {
    rule: 'relocation target is an object',
    path: RELOCATE,
    body: [{ ...RELOCATION, target: 'Main store' }],
    pointer: '/0/target',
    messageKey: 'error.payload.type',
  },
  {
    rule: 'relocation source is an object',
    path: RELOCATE,
    body: [{ ...RELOCATION, source: 'Main store' }],
    pointer: '/0/source',
    messageKey: 'error.payload.type',
  },
  // Every bulk endpoint: an array of 1..10000 objects.
  ...BULK_ENDPOINTS.flatMap(([method, path]): Rule[] => [
    {
      rule: `${method} ${path} takes an array`,
      method,
      path,
      body: {},
      pointer: '',
      messageKey: 'error.payload.type',
    },
    {
      rule: `${method} ${path} takes at least 1 item`,
      method,
      path,
      body: [],
      pointer: '',
      messageKey: 'error.payload.min_count',
    },
    {
      rule: `${method} ${path} items are objects`,
      method,
      path,
      body: ['x'],
      pointer: '/0',
      messageKey: 'error.payload.type',
    },
  ]),
];

describe('Mobility Work simulator: the request contract', () => {
  it.each(CONTRACT_RULES)(
    '400: $rule ($pointer)',
    async ({ method = 'POST', path, body, pointer, messageKey }) => {
      const sim = await start({ plan: 'ultimate' });
      const res = await call(sim, method, path, { body });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ http_status_code: 400, code: '400044' });
      // Only the field under test is wrong, and it is named with the expected reason.
      expect(Object.keys(res.body.extended_message.property_errors)).toEqual([pointer]);
      expect(res.body.extended_message.property_errors[pointer]).toContainEqual(
        expect.objectContaining({ messageKey }),
      );
      await sim.settle();
      expect(sim.tasks()).toEqual([]);
      expect(sim.state().pendingWrites).toEqual([]);
    },
  );

  it('refuses at most 10000 items on every bulk endpoint', async () => {
    const sim = await start({ plan: 'ultimate' });
    for (const [method, path] of BULK_ENDPOINTS) {
      const res = await call(sim, method, path, { body: Array.from({ length: 10_001 }, () => ({})) });
      expect(res.body.extended_message.property_errors).toEqual({
        '': [{ messageKey: 'error.payload.max_count', parameters: { max: 10_000, count: 10_001 } }],
      });
    }
  });

  const OPTIONAL: { rule: string; method?: 'POST' | 'PUT'; path: string; body?: unknown; status: number }[] =
    [
      {
        rule: 'a task with only the required fields',
        path: '/partners/v1/tasks',
        body: without(task, 'metadata'),
        status: 201,
      },
      {
        rule: 'a task with a null checklist and every documented option',
        path: '/partners/v1/tasks',
        body: {
          ...task,
          checklist: null,
          tags: [],
          emailToCreator: false,
          sendEmailToAssignees: false,
          inheritEquipmentTags: true,
        },
        status: 201,
      },
      { rule: 'a plan trigger without a body', path: TRIGGER, status: 204 },
      { rule: 'a plan trigger with an empty body', path: TRIGGER, body: {}, status: 204 },
      {
        rule: 'a spare-part create with only the required fields',
        path: SPARE_PARTS,
        body: [NEW_PART],
        status: 202,
      },
      {
        rule: 'a spare-part create with an empty location object and an empty costCenter',
        path: SPARE_PARTS,
        body: [{ ...NEW_PART, location: {}, costCenter: '' }],
        status: 202,
      },
      {
        rule: 'an attributes item with only its id',
        path: ATTRIBUTES,
        body: [{ id: 'PartSeal2210' }],
        status: 202,
      },
      {
        rule: 'an attributes item unsetting every nullable field',
        path: ATTRIBUTES,
        body: [
          {
            id: 'PartSeal2210',
            description: null,
            minimumStock: null,
            maximumStock: null,
            replenishmentLot: null,
            unitPrice: null,
            gtin: null,
            costCenter: null,
          },
        ],
        status: 202,
      },
      {
        rule: 'a movement with only the identifier and the movement object',
        path: MOVEMENTS,
        body: [move('PartSeal2210', 0)],
        status: 202,
      },
      {
        rule: 'a deprecated stock item with only id and quantity',
        method: 'PUT',
        path: STOCK,
        body: [{ id: 'PartSeal2210', quantity: 0 }],
        status: 202,
      },
      { rule: 'an equipment item with only its id', path: EQUIPMENT, body: [{ id: 2509 }], status: 202 },
      {
        rule: 'an equipment item unsetting every nullable field',
        path: EQUIPMENT,
        body: [
          { id: 'EQ-PRESS-03', description: null, gtin: null, costCenter: null, itemCode: null, tags: null },
        ],
        status: 202,
      },
      {
        rule: 'a location with only its name',
        path: LOCATIONS,
        body: [{ name: 'Line 2 cabinet' }],
        status: 202,
      },
      { rule: 'a relocation without a source', path: RELOCATE, body: [RELOCATION], status: 202 },
    ];

  it.each(OPTIONAL)('accepts $rule', async ({ method = 'POST', path, body, status }) => {
    const sim = await start({ plan: 'ultimate' });
    const res = await call(sim, method, path, body === undefined ? {} : { body });
    expect(res.status).toBe(status);
  });

  it('applies the optional fields that were sent and leaves the omitted ones alone', async () => {
    const sim = await start();
    await call(sim, 'POST', EQUIPMENT, { body: [{ id: 2509, itemCode: null }] });
    await call(sim, 'POST', ATTRIBUTES, {
      body: [{ id: 'PartSeal2210', costCenter: null, gtin: '12345678' }],
    });
    await sim.settle();
    expect(sim.state().equipment.find((e) => e.id === 2509)).toEqual({
      id: 2509,
      itemCode: null,
      name: 'Press 03',
    });
    expect(sim.spareParts().find((p) => p.externalReference === 'PartSeal2210')).toMatchObject({
      name: 'Shaft seal 22x10',
      minimumStock: 2,
      gtin: '12345678',
      costCenter: null,
    });
  });
});

describe('Mobility Work simulator: webhook delivery', () => {
  it('retries twice (3 attempts), same key and body, fresh nonce each time, then gives up', async () => {
    answers = [500, 503, 500];
    const sim = await start();
    sim.recount('PartSeal2210', 6);
    await sim.settle();
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.rawBody)).size).toBe(1);
    const nonces = received.map((r) => parseMwSignatureHeader(r.headers['x-mw-signature'] as string)?.nonce);
    expect(new Set(nonces).size).toBe(3);
    for (const r of received) {
      const parts = parseMwSignatureHeader(r.headers['x-mw-signature'] as string);
      expect(parts?.signature).toBe(
        computeMwSignature(SECRET, 't.nonce.body', parts?.t ?? '', parts?.nonce ?? '', r.rawBody),
      );
    }
    const deliveries = sim.deliveries();
    expect(deliveries.map((d) => [d.attempt, d.status, d.outcome])).toEqual([
      [1, 500, 'retrying'],
      [2, 503, 'retrying'],
      [3, 500, 'failed'],
    ]);
    expect(new Set(deliveries.map((d) => d.idempotencyKey))).toEqual(
      new Set([received[0]?.body._idempotencyKey]),
    );
    expect(deliveries.map((d) => d.nonce)).toEqual(nonces);
  });

  it('counts only an exact 200 as success: 202 and 204 are failures', async () => {
    answers = [202, 204, 200];
    const sim = await start();
    sim.recount('PartSeal2210', 6);
    await sim.settle();
    expect(sim.deliveries().map((d) => [d.attempt, d.status, d.outcome])).toEqual([
      [1, 202, 'retrying'],
      [2, 204, 'retrying'],
      [3, 200, 'delivered'],
    ]);
  });

  it('records network errors as failed attempts', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const sim = await start({
      webhook: { url: `http://127.0.0.1:${port}/x`, secret: SECRET, scheme: 'body', retryDelayMs: 0 },
    });
    sim.recount('PartSeal2210', 6);
    await sim.settle();
    const deliveries = sim.deliveries();
    expect(deliveries).toHaveLength(3);
    expect(deliveries.every((d) => d.status === undefined && typeof d.error === 'string')).toBe(true);
    expect(deliveries.at(-1)?.outcome).toBe('failed');
  });

  it('delivers in order through one queue', async () => {
    answers = [500];
    const sim = await start();
    sim.consume('PartBeltA42', 1);
    sim.consume('PartBeltA42', 2);
    await sim.settle();
    // The first delivery's retry comes before the next event.
    expect(eventNames()).toEqual([
      'SparePartWasConsumed',
      'SparePartWasConsumed',
      'SparePartStockWasUnderMinThreshold',
      'SparePartWasConsumed',
      'SparePartWasOutOfStock',
    ]);
  });
});

describe('Mobility Work simulator: spare-part bulk writes', () => {
  it('accepts a stock write with 202 null, applies it only on settle, then emits its webhooks', async () => {
    const sim = await start({ applyDelayMs: 60_000 });
    const res = await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
      body: [move('PartBeltA42', 1)],
    });
    expect(res.status).toBe(202);
    expect(res.text).toBe('null');
    expect(stockOf(sim, 'PartBeltA42')).toBe(3);
    expect(sim.state().pendingWrites).toEqual([
      {
        id: 1,
        endpoint: 'POST /partners/v1/spare-parts/movements/bulk',
        acceptedAt: '2026-11-02T08:00:00+00:00',
        items: [move('PartBeltA42', 1)],
      },
    ]);
    expect(received).toEqual([]);
    await sim.settle();
    expect(stockOf(sim, 'PartBeltA42')).toBe(1);
    expect(sim.state().pendingWrites).toEqual([]);
    expect(eventNames()).toEqual(['SparePartWasManuallyRecounted', 'SparePartStockWasUnderMinThreshold']);
    expect(received[0]?.body).toEqual({
      _type: 'SparePartWasManuallyRecountedWebhook',
      _event: 'SparePartWasManuallyRecounted',
      _idempotencyKey: expect.stringMatching(/^[A-Za-z0-9]{10}$/),
      _sentAt: '2026-11-02T08:00:00+00:00',
      emittedAt: '2026-11-02T08:00:00+00:00',
      _metadata: '',
      sparePart: { id: 'sp-2', externalReference: 'PartBeltA42', name: 'V-belt A42' },
      location: { name: 'Main store' },
      initiator: { id: 1, email: 'api@plant.example', name: 'Partner API' },
      recounted: { quantity: 1, previousStock: 3 },
      networkId: MW_SIM_DEFAULT_NETWORK_ID,
    });
    expect(received[1]?.body).toEqual({
      _event: 'SparePartStockWasUnderMinThreshold',
      _idempotencyKey: expect.stringMatching(/^[A-Za-z0-9]{10}$/),
      _date: '2026-11-02T08:00:00+00:00',
      _metadata: null,
      stock: { quantity: 1, minimumStock: 2 },
      sparePart: { id: 'sp-2', externalReference: 'PartBeltA42', name: 'V-belt A42' },
      movement: { type: 'inventory', quantity: 1 },
      networkId: MW_SIM_DEFAULT_NETWORK_ID,
    });
  });

  it('applies a write by itself after applyDelayMs', async () => {
    const sim = await start({ applyDelayMs: 5 });
    await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
      body: [move('PartSeal2210', 5)],
    });
    expect(stockOf(sim, 'PartSeal2210')).toBe(8);
    const deadline = Date.now() + 2_000;
    while (stockOf(sim, 'PartSeal2210') !== 5 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(stockOf(sim, 'PartSeal2210')).toBe(5);
  });

  it('requires an array of 1..10000 items', async () => {
    const sim = await start();
    const post = (body: unknown) => call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', { body });
    const empty = await post([]);
    expect(empty.status).toBe(400);
    expect(empty.body.extended_message.property_errors).toEqual({
      '': [{ messageKey: 'error.payload.min_count', parameters: { min: 1, count: 0 } }],
    });
    const tooMany = await post(Array.from({ length: 10_001 }, () => move('PartSeal2210', 1)));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.extended_message.property_errors).toEqual({
      '': [{ messageKey: 'error.payload.max_count', parameters: { max: 10_000, count: 10_001 } }],
    });
    const object = await post(move('PartSeal2210', 1));
    expect(Object.keys(object.body.extended_message.property_errors)).toEqual(['']);
    const atLimit = await post(Array.from({ length: 10_000 }, (_, i) => move(`Unknown${i}`, 1)));
    expect(atLimit.status).toBe(202);
    for (const path of ['/partners/v1/spare-parts', '/partners/v1/spare-parts/attributes']) {
      expect((await call(sim, 'POST', path, { body: [] })).status).toBe(400);
    }
    expect(sim.state().pendingWrites).toHaveLength(1);
  });

  it('accepts the documented movement items, refuses a flat one, and reports bad items by pointer', async () => {
    const sim = await start();
    const ok = await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
      body: [
        move('PartBearing6204', 10),
        move({ type: 'externalReference', value: 'PartFilterHF35' }, 15),
        move('PartNope', 1),
      ],
    });
    expect(ok.status).toBe(202);
    // The deprecated PUT's shape lacks the required object: MW would refuse it, so does the simulator.
    const flat = await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
      body: [{ id: 'PartSeal2210', quantity: 1 }],
    });
    expect(flat.status).toBe(400);
    expect(flat.body.extended_message.property_errors).toEqual({
      '/0/movement': [{ messageKey: 'error.payload.required', parameters: {} }],
    });
    const bad = await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
      body: [
        move('PartSeal2210', -1),
        move('PartSeal2210', 1.5),
        { id: 'PartSeal2210', movement: { type: 'consumption', quantity: 1 } },
        move('PartSeal2210', '3'),
        { movement: { type: 'inventory', quantity: 1 } },
        move({ type: 'native', value: 'sp-1' }, 1),
        { id: 'PartSeal2210', movement: { type: 'inventory' } },
        'PartSeal2210',
        { id: 'PartSeal2210', movement: 3 },
      ],
    });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.extended_message.property_errors)).toEqual([
      '/0/movement/quantity',
      '/1/movement/quantity',
      '/2/movement/type',
      '/3/movement/quantity',
      '/4/id',
      '/5/id/type',
      '/6/movement/quantity',
      '/7',
      '/8/movement',
    ]);
    expect(bad.body.extended_message.property_errors['/0/movement/quantity']).toEqual([
      { messageKey: 'error.payload.min', parameters: { min: 0, value: -1 } },
    ]);
    await sim.settle();
    expect(stockOf(sim, 'PartBearing6204')).toBe(10);
    expect(stockOf(sim, 'PartFilterHF35')).toBe(15);
    expect(stockOf(sim, 'PartSeal2210')).toBe(8);
    expect(sim.state().rejectedItems).toEqual([
      {
        writeId: 1,
        endpoint: 'POST /partners/v1/spare-parts/movements/bulk',
        index: 2,
        identifier: 'PartNope',
        reason: 'unknown spare part',
      },
    ]);
  });

  it('emits under-threshold only when the stock crosses the minimum, and out-of-stock at 0', async () => {
    const sim = await start();
    const set = async (quantity: number) => {
      await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
        body: [move('PartFilterHF35', quantity)],
      });
      await sim.settle();
    };
    /** Events received since the last drain, without the recount each write emits. */
    const drain = () => {
      const names = eventNames().filter((e) => e !== 'SparePartWasManuallyRecounted');
      received.length = 0;
      return names;
    };
    await set(6); // 20 -> 6, min 5
    expect(drain()).toEqual([]);
    await set(5); // crosses: 6 > 5 -> 5 <= 5
    expect(drain()).toEqual(['SparePartStockWasUnderMinThreshold']);
    await set(4); // already under
    expect(drain()).toEqual([]);
    await set(10);
    expect(drain()).toEqual([]);
    sim.consume('PartFilterHF35', 5); // 10 -> 5 crosses again
    await sim.settle();
    expect(drain()).toEqual(['SparePartWasConsumed', 'SparePartStockWasUnderMinThreshold']);
    sim.consume('PartFilterHF35', 5); // 5 -> 0: out of stock, no second under-threshold
    await sim.settle();
    expect(drain()).toEqual(['SparePartWasConsumed', 'SparePartWasOutOfStock']);
    await set(0); // already 0
    expect(drain()).toEqual([]);
  });

  it('updates attributes (null unsets the minimum) and creates spare parts', async () => {
    const sim = await start();
    await call(sim, 'POST', '/partners/v1/spare-parts/attributes', {
      body: [
        {
          id: { type: 'externalReference', value: 'PartBeltA42' },
          minimumStock: null,
          name: 'V-belt A42 (Gates)',
        },
        { id: 'PartSeal2210', minimumStock: 7.5, unitPrice: { amount: 3500, currency: 'EUR' } },
      ],
    });
    await call(sim, 'POST', '/partners/v1/spare-parts', {
      body: [{ ...NEW_PART, externalReference: 'PartNew01', name: 'New part', minimumStock: 1 }],
    });
    const badAttrs = await call(sim, 'POST', '/partners/v1/spare-parts/attributes', {
      body: [{ id: 'PartSeal2210', minimumStock: -1, name: 'ab' }],
    });
    expect(Object.keys(badAttrs.body.extended_message.property_errors)).toEqual([
      '/0/name',
      '/0/minimumStock',
    ]);
    const badCreate = await call(sim, 'POST', '/partners/v1/spare-parts', { body: [{ name: 'x' }] });
    expect(Object.keys(badCreate.body.extended_message.property_errors)).toEqual([
      '/0/externalReference',
      '/0/name',
      '/0/unitPrice',
      '/0/location',
    ]);
    await sim.settle();
    const parts = sim.spareParts();
    expect(parts.find((p) => p.externalReference === 'PartBeltA42')).toMatchObject({
      name: 'V-belt A42 (Gates)',
      minimumStock: null,
    });
    expect(parts.find((p) => p.externalReference === 'PartSeal2210')).toMatchObject({
      minimumStock: 7.5,
      unitPrice: { amount: 3500, currency: 'EUR' },
    });
    // Seven seeded parts (the four shared with UpKeep, three with Click Maint): the new one is the 8th.
    expect(parts.find((p) => p.externalReference === 'PartNew01')).toMatchObject({
      id: 'sp-8',
      stock: 0,
      unitPrice: { amount: 640, currency: 'EUR' },
      location: 'Main store',
    });
    // No minimum any more: going down does not alert.
    sim.consume('PartBeltA42', 2);
    await sim.settle();
    expect(eventNames()).toEqual(['SparePartWasConsumed']);
  });

  it('takes a unit price by the documented rule only (integer amount), as the client does', async () => {
    const sim = await start();
    // No sign or currency-code rule in the doc: the client sends these, so the simulator takes them.
    const res = await call(sim, 'POST', '/partners/v1/spare-parts', {
      body: [{ ...NEW_PART, externalReference: 'PartOdd01', unitPrice: { amount: -100, currency: 'eur' } }],
    });
    expect(res.status).toBe(202);
    await sim.settle();
    expect(sim.spareParts().find((p) => p.externalReference === 'PartOdd01')?.unitPrice).toEqual({
      amount: -100,
      currency: 'eur',
    });
  });

  it('applies the deprecated PUT /spare-parts/stock (flat only) on Premium', async () => {
    const sim = await start({ plan: 'ultimate' });
    const res = await call(sim, 'PUT', '/partners/v1/spare-parts/stock', {
      body: [{ id: 'PartSeal2210', quantity: 4 }],
    });
    expect(res.status).toBe(202);
    const nested = await call(sim, 'PUT', '/partners/v1/spare-parts/stock', {
      body: [{ id: 'PartSeal2210', movement: { type: 'inventory', quantity: 4 } }],
    });
    expect(Object.keys(nested.body.extended_message.property_errors)).toEqual(['/0/quantity']);
    await sim.settle();
    expect(stockOf(sim, 'PartSeal2210')).toBe(4);
  });

  it('applies API writes silently when emitOnApiWrites is false', async () => {
    const sim = await start({ emitOnApiWrites: false });
    await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
      body: [move('PartBeltA42', 0)],
    });
    await sim.settle();
    expect(stockOf(sim, 'PartBeltA42')).toBe(0);
    expect(received).toEqual([]);
    sim.recount('PartBeltA42', 3);
    await sim.settle();
    expect(eventNames()).toEqual(['SparePartWasManuallyRecounted']);
  });
});

describe('Mobility Work simulator: plans', () => {
  it('refuses the Premium routes on Starter with 403 and never sends webhooks', async () => {
    const sim = await start({ plan: 'starter' });
    for (const [method, path] of [
      ['PUT', '/partners/v1/spare-parts/stock'],
      ['POST', '/partners/v1/equipment/attributes'],
      ['POST', '/partners/v1/locations/create/bulk'],
      ['POST', '/partners/v1/spare-parts/relocate/bulk'],
    ] as const) {
      const res = await call(sim, method, path, { body: [{ id: 'PartSeal2210', quantity: 1 }] });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({
        http_status_code: 403,
        code: '403001',
        message: 'Subscription plan does not allow to use that API',
      });
    }
    expect((await call(sim, 'POST', '/partners/v1/tasks', { body: validTask() })).status).toBe(201);
    expect(
      (
        await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
          body: [move('PartBeltA42', 0)],
        })
      ).status,
    ).toBe(202);
    sim.consume('PartSeal2210', 8);
    await sim.settle();
    expect(stockOf(sim, 'PartBeltA42')).toBe(0);
    expect(received).toEqual([]);
    expect(sim.deliveries()).toEqual([]);
    // The network still produced the events; a Premium network would have sent them.
    expect(sim.events().map((e) => [e.event, e.sent])).toContainEqual(['TaskWasScheduled', false]);
  });

  it('serves the Premium-only routes on Premium (locations, relocation, equipment attributes)', async () => {
    const sim = await start();
    expect(
      (await call(sim, 'POST', '/partners/v1/locations/create/bulk', { body: [{ name: 'Line 2 cabinet' }] }))
        .status,
    ).toBe(202);
    const relocate = await call(sim, 'POST', '/partners/v1/spare-parts/relocate/bulk', {
      body: [
        {
          sparePartId: 'PartSeal2210',
          source: { locationName: 'Main store' },
          target: { locationName: 'Line 2 cabinet' },
        },
        { sparePartId: 'PartBeltA42', target: { locationName: 'Nowhere' } },
      ],
    });
    expect(relocate.status).toBe(202);
    expect(
      (
        await call(sim, 'POST', '/partners/v1/equipment/attributes', {
          body: [{ id: 2509, itemCode: 'EQ-PRESS-3B' }],
        })
      ).status,
    ).toBe(202);
    const bad = await call(sim, 'POST', '/partners/v1/spare-parts/relocate/bulk', {
      body: [{ sparePartId: 'x' }],
    });
    expect(Object.keys(bad.body.extended_message.property_errors)).toEqual(['/0/target']);
    await sim.settle();
    const state = sim.state();
    expect(state.locations).toEqual(['Main store', 'Line 2 cabinet']);
    expect(state.spareParts.find((p) => p.externalReference === 'PartSeal2210')?.location).toBe(
      'Line 2 cabinet',
    );
    expect(state.equipment.find((e) => e.id === 2509)?.itemCode).toBe('EQ-PRESS-3B');
    expect(state.rejectedItems.map((r) => r.reason)).toEqual(['unknown location']);
  });
});

describe('Mobility Work simulator: control API', () => {
  it('consumes, restocks and recounts over HTTP with the contract payloads', async () => {
    const sim = await start();
    const consumed = await call(sim, 'POST', '/_sandbox/spare-parts/PartBearing6204/consume', {
      body: { quantity: 8, taskId: '32828f62' },
    });
    expect(consumed.status).toBe(200);
    expect(consumed.body.stock).toBe(4);
    clock.advance(60_000);
    await call(sim, 'POST', '/_sandbox/spare-parts/PartBearing6204/restock', { body: { quantity: 6 } });
    await call(sim, 'POST', '/_sandbox/spare-parts/PartBearing6204/recount', {
      body: { quantity: 9, initiator: 4 },
    });
    expect((await call(sim, 'POST', '/_sandbox/settle')).status).toBe(200);
    expect(eventNames()).toEqual([
      'SparePartWasConsumed',
      'SparePartStockWasUnderMinThreshold',
      'SparePartWasRestocked',
      'SparePartWasManuallyRecounted',
    ]);
    expect(received[0]?.body).toMatchObject({
      _type: 'SparePartWasConsumedWebhook',
      _metadata: '',
      task: { id: '32828f62' },
      sparePart: { id: 'sp-1', externalReference: 'PartBearing6204', name: 'Bearing 6204' },
      location: { name: 'Main store' },
      initiator: { id: 3, email: 'tech@plant.example' },
      consumed: { _type: 'SparePartConsumption', quantity: 8, previousStock: 12 },
    });
    expect(received[1]?.body).toMatchObject({
      stock: { quantity: 4, minimumStock: 4 },
      movement: { type: 'consumption', quantity: 8 },
    });
    expect(received[2]?.body).toMatchObject({
      _type: 'SparePartWasRestockedWebhook',
      task: null,
      emittedAt: '2026-11-02T08:01:00+00:00',
      restocked: { quantity: 6, previousStock: 4 },
    });
    expect(received[3]?.body).toMatchObject({
      initiator: { id: 4, email: 'planner@plant.example' },
      recounted: { quantity: 9, previousStock: 10 },
    });
    expect(stockOf(sim, 'PartBearing6204')).toBe(9);
    expect(
      (await call(sim, 'POST', '/_sandbox/spare-parts/PartNope/consume', { body: { quantity: 1 } })).status,
    ).toBe(404);
    expect(
      (await call(sim, 'POST', '/_sandbox/spare-parts/PartBeltA42/consume', { body: { quantity: 9 } }))
        .status,
    ).toBe(409);
    expect(
      (await call(sim, 'POST', '/_sandbox/spare-parts/PartBeltA42/restock', { body: { quantity: 0 } }))
        .status,
    ).toBe(400);
  });

  it('starts, completes and cancels tasks by id or by metadata', async () => {
    const sim = await start();
    await call(sim, 'POST', '/partners/v1/tasks', { body: validTask() });
    await call(sim, 'POST', '/partners/v1/tasks', {
      body: validTask({ equipment: 2508, metadata: { millwrightKey: 'ep-2' } }),
    });
    const [first, second] = sim.tasks();
    clock.advance(5 * 60_000);
    expect((await call(sim, 'POST', `/_sandbox/tasks/${first?.id}/start`)).body.state).toBe('started');
    clock.advance(30 * 60_000);
    const done = await call(sim, 'POST', '/_sandbox/tasks/by-metadata/complete', {
      body: { key: 'millwrightKey', value: 'ep-1' },
    });
    expect(done.body).toMatchObject({
      id: first?.id,
      state: 'completed',
      doneAt: '2026-11-02T08:35:00+00:00',
    });
    const canceled = await call(sim, 'POST', '/_sandbox/tasks/by-metadata/cancel', {
      body: { key: 'millwrightKey', value: 'ep-2', reason: 'false alarm' },
    });
    expect(canceled.body).toMatchObject({ id: second?.id, state: 'canceled', cancelReason: 'false alarm' });
    expect((await call(sim, 'POST', `/_sandbox/tasks/${first?.id}/cancel`)).status).toBe(409);
    expect((await call(sim, 'POST', '/_sandbox/tasks/ffffffff/start')).status).toBe(404);
    expect(
      (
        await call(sim, 'POST', '/_sandbox/tasks/by-metadata/start', {
          body: { key: 'millwrightKey', value: 'ep-9' },
        })
      ).status,
    ).toBe(404);
    await sim.settle();
    const byEvent = Object.fromEntries(received.map((r) => [r.body._event, r.body]));
    expect(eventNames()).toEqual([
      'TaskWasScheduled',
      'TaskWasScheduled',
      'TaskWasStarted',
      'TaskWasCompleted',
      'TaskWasCanceled',
    ]);
    expect(byEvent.TaskWasStarted).toMatchObject({
      taskId: first?.id,
      started: { at: '2026-11-02T08:05:00+00:00' },
      associatedTo: { equipment: { id: 2507, itemCode: 'EQ-MILL-01', name: 'Mill 01' } },
      metadata: { millwrightKey: 'ep-1' },
    });
    expect(byEvent.TaskWasCompleted).toEqual({
      _event: 'TaskWasCompleted',
      _idempotencyKey: expect.stringMatching(/^[A-Za-z0-9]{10}$/),
      legacyId: first?.id,
      id: first?.id,
      doneAt: '2026-11-02T08:35:00+00:00',
      initiator: { id: 3, email: 'tech@plant.example', name: 'Tess Technician' },
      associatedTo: { equipment: { id: 2507, itemCode: 'EQ-MILL-01', name: 'Mill 01' } },
      tags: [],
      requiredSpareParts: [],
      metadata: { millwrightKey: 'ep-1', source: 'millwright' },
      networkId: MW_SIM_DEFAULT_NETWORK_ID,
    });
    expect(byEvent.TaskWasCanceled).toMatchObject({
      taskId: second?.id,
      canceled: { at: '2026-11-02T08:35:00+00:00', reason: 'false alarm' },
      associatedTo: { equipment: { id: 2508 } },
    });
    expect(sim.findTaskByMetadata('millwrightKey', 'ep-2')?.id).toBe(second?.id);
  });

  it('adds activities with consumptions and cancels them', async () => {
    const sim = await start({ emptyTaskMetadata: 'array' });
    await call(sim, 'POST', '/partners/v1/tasks', { body: validTask({ metadata: undefined }) });
    const taskId = sim.tasks()[0]?.id ?? '';
    const activity = await call(sim, 'POST', `/_sandbox/tasks/${taskId}/activities`, {
      body: { comment: 'Replaced the belt', consume: [{ externalReference: 'PartBeltA42', quantity: 2 }] },
    });
    expect(activity.status).toBe(200);
    expect(stockOf(sim, 'PartBeltA42')).toBe(1);
    const undo = await call(sim, 'POST', `/_sandbox/activities/${activity.body.id}/cancel-consumption`);
    expect(undo.status).toBe(200);
    expect(stockOf(sim, 'PartBeltA42')).toBe(3);
    expect(
      (await call(sim, 'POST', `/_sandbox/activities/${activity.body.id}/cancel-consumption`)).status,
    ).toBe(409);
    await sim.settle();
    expect(eventNames()).toEqual([
      'TaskWasScheduled',
      'ActivityWasAddedOnTask',
      'SparePartWasConsumed',
      'SparePartStockWasUnderMinThreshold',
      'SparePartConsumptionWasCanceled',
    ]);
    expect(received[0]?.body.metadata).toEqual([]);
    expect(received[1]?.body).toMatchObject({
      _type: 'ActivityWasAddedOnTaskWebhook',
      _metadata: [],
      task: { id: taskId },
      equipment: { id: 2507 },
      activity: { id: activity.body.id, comment: 'Replaced the belt' },
      requiredSpareParts: [],
    });
    expect(received[2]?.body.task).toEqual({ id: taskId });
    expect(received[4]?.body).toMatchObject({
      _type: 'SparePartConsumptionWasCanceledWebhook',
      task: { id: taskId },
      activity: { id: activity.body.id },
      sparePart: { externalReference: 'PartBeltA42' },
      location: { name: 'Main store' },
    });
  });

  it('exposes state, deliveries and reset over HTTP', async () => {
    const sim = await start();
    await call(sim, 'POST', '/partners/v1/spare-parts/movements/bulk', {
      body: [move('PartNope', 1)],
    });
    const before = await call(sim, 'GET', '/_sandbox/state');
    expect(before.body.pendingWrites).toHaveLength(1);
    expect(before.body.spareParts.map((p: { externalReference: string }) => p.externalReference)).toEqual([
      'PartBearing6204',
      'PartBeltA42',
      'PartFilterHF35',
      'PartSeal2210',
      'FL_A',
      'B52',
      'GR-400',
    ]);
    expect(before.body.equipment).toHaveLength(3);
    await call(sim, 'POST', '/_sandbox/settle');
    expect((await call(sim, 'GET', '/_sandbox/state')).body.rejectedItems).toHaveLength(1);
    sim.recount('PartSeal2210', 1);
    await sim.settle();
    expect((await call(sim, 'GET', '/_sandbox/deliveries')).body.deliveries).toHaveLength(2);
    expect((await call(sim, 'POST', '/_sandbox/reset')).status).toBe(200);
    expect(sim.state().rejectedItems).toEqual([]);
    expect(stockOf(sim, 'PartSeal2210')).toBe(8);
    expect(sim.deliveries()).toEqual([]);
  });
});
