/**
 * The UpKeep simulator's request contract (api-doc.txt): every field the doc marks required, with its
 * documented type, is enforced (400 `{success: false, message}` naming the field); fields it marks
 * optional are accepted when absent, and PATCH accepts null ("Null values are allowed to erase the
 * value unless otherwise stated"). One test per rule.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  startUpKeepSimulator,
  type UpKeepSimulator,
} from '../../../functions/connectors/upkeep/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { EMAIL, PASSWORD } from './support.ts';

let sim: UpKeepSimulator;
let token: string;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON answers.
  body: any;
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; form?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'session-token': token };
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  sim = await startUpKeepSimulator({
    clock: manualClock('2026-11-02T08:00:00.000Z'),
    email: EMAIL,
    password: PASSWORD,
  });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  sim.reset();
  const res = await call('POST', '/auth', { body: { email: EMAIL, password: PASSWORD } });
  token = res.body.result.sessionToken;
});

const newWorkOrder = async (): Promise<string> =>
  (await call('POST', '/work-orders', { body: { title: 'Mill down' } })).body.result.id;

const COST = { amount: 40, info: 'Bearing puller rental', category: 'Other', assignedToUser: 'UserAdmin1' };
const without = (body: Record<string, unknown>, key: string) => {
  const { [key]: _dropped, ...rest } = body;
  return rest;
};

describe('UpKeep simulator contract: parts', () => {
  it('creates a part without a quantity (optional) and holds none, in the create and GET answers', async () => {
    const created = await call('POST', '/parts', { body: { name: 'Grease cartridge' } });
    expect(created.status).toBe(200);
    expect(created.body.result.quantity).toBeNull();
    const read = await call('GET', `/parts/${created.body.result.id}`);
    expect(read.body.result).toMatchObject({ name: 'Grease cartridge', quantity: null });
    expect(sim.parts().find((p) => p.id === created.body.result.id)?.quantity).toBeNull();
  });

  it('erases the quantity with PATCH null', async () => {
    const res = await call('PATCH', '/parts/PartSeal2210', { body: { quantity: null } });
    expect(res.status).toBe(200);
    expect(res.body.result.quantity).toBeNull();
  });

  it('cannot consume from a part without a quantity, and a restock gives it one', () => {
    const [part] = sim.addParts([{ name: 'Loose washers' }]);
    const id = part?.id as string;
    expect(() => sim.consumePart(id, 1)).toThrow(/not enough stock: part \w+ has null/);
    expect(sim.restockPart(id, 5).quantity).toBe(5);
  });

  it('400: customFieldsPart is an Array of objects', async () => {
    const res = await call('POST', '/parts', { body: { name: 'x', customFieldsPart: { name: 'a' } } });
    expect(res).toEqual({
      status: 400,
      body: { success: false, message: 'customFieldsPart must be an Array of objects' },
    });
  });
});

describe('UpKeep simulator contract: work orders', () => {
  const WO_RULES: [string, Record<string, unknown>, string][] = [
    [
      'formItems is an Array of objects',
      { formItems: ['Check tanks'] },
      'formItems must be an Array of objects',
    ],
    ['a form item needs a name', { formItems: [{ type: 'TASK' }] }, 'formItems[0].name cannot be null'],
    [
      'a form item needs a type',
      { formItems: [{ name: 'Check tanks' }] },
      'formItems[0].type cannot be null',
    ],
    [
      'a form item type is one of the documented ones',
      { formItems: [{ name: 'Check tanks', type: 'PHOTO' }] },
      'formItems[0].type must be one of TASK, TEXT, NUMBER, CHECKLIST, MULTIPLE_CHOICE, METER, METER_READING',
    ],
    ['files is an Array of Strings', { files: [7] }, 'files must be an Array of Strings'],
    ['parts is an Array of Strings', { parts: 'PartSeal2210' }, 'parts must be an Array of Strings'],
    [
      'additionalUsers is an Array of Strings',
      { additionalUsers: [null] },
      'additionalUsers must be an Array of Strings',
    ],
    [
      'respectivePartQuantityUsed is an Array of Numbers',
      { respectivePartQuantityUsed: ['1'] },
      'respectivePartQuantityUsed must be an Array of Numbers',
    ],
    [
      'estimatedDurationInHours is a Number',
      { estimatedDurationInHours: '5' },
      'estimatedDurationInHours must be a Number',
    ],
    [
      'decreaseInventory is auto or manual',
      { decreaseInventory: 'never' },
      'decreaseInventory must be "auto" or "manual"',
    ],
    ['image is a String (a file id)', { image: { id: 'F1' } }, 'image must be a String'],
    ['formTemplate is a String', { formTemplate: 3 }, 'formTemplate must be a String'],
    ['customWOStatusId is a String', { customWOStatusId: 12 }, 'customWOStatusId must be a String'],
  ];

  it.each(WO_RULES)('create 400: %s', async (_rule, fields, message) => {
    const res = await call('POST', '/work-orders', { body: { title: 'Mill down', ...fields } });
    expect(res).toEqual({ status: 400, body: { success: false, message } });
    expect(sim.workOrders()).toEqual([]);
  });

  const COST_RULES: [string, unknown, string][] = [
    ['additionalCosts is an Array of objects', [1], 'additionalCosts must be an Array of objects'],
    ['a cost needs its amount', [without(COST, 'amount')], 'additionalCosts[0].amount cannot be null'],
    ['a cost needs its info', [without(COST, 'info')], 'additionalCosts[0].info cannot be null'],
    ['a cost needs its category', [without(COST, 'category')], 'additionalCosts[0].category cannot be null'],
    [
      'a cost needs its assignedToUser',
      [without(COST, 'assignedToUser')],
      'additionalCosts[0].assignedToUser cannot be null',
    ],
    ['a cost amount is a Number', [{ ...COST, amount: '40' }], 'additionalCosts[0].amount must be a Number'],
    [
      'a cost date is an ISO string or unix ms',
      [{ ...COST, date: true }],
      'additionalCosts[0].date must be an ISO string or a unix timestamp',
    ],
    [
      'includedInTotalCost is a Boolean',
      [{ ...COST, includedInTotalCost: 'yes' }],
      'additionalCosts[0].includedInTotalCost must be a Boolean',
    ],
    [
      'deleting a cost needs its id',
      [{ deleteAdditionalCostItem: true }],
      'additionalCosts[0].id cannot be null',
    ],
  ];

  it.each(COST_RULES)('PATCH 400: %s', async (_rule, additionalCosts, message) => {
    const id = await newWorkOrder();
    const res = await call('PATCH', `/work-orders/${id}`, { body: { additionalCosts } });
    expect(res).toEqual({ status: 400, body: { success: false, message } });
    expect(sim.workOrders()[0]?.extra.additionalCosts).toBeUndefined();
  });

  it('accepts every documented optional field in its documented type', async () => {
    const res = await call('POST', '/work-orders', {
      body: {
        title: 'Mill down',
        formItems: [
          { name: 'Check & close all tanks', type: 'TASK' },
          { name: 'Hours', type: 'METER', meter: 'M1' },
        ],
        files: ['F1'],
        parts: ['PartSeal2210'],
        respectivePartQuantityUsed: [1],
        additionalUsers: ['U2'],
        estimatedDurationInHours: 1.5,
        decreaseInventory: 'manual',
        image: 'F2',
        customWOStatusId: '651c18ebf37a21595c159a9c',
      },
    });
    expect(res.status).toBe(200);
  });

  it('PATCH accepts documented costs (a deletion needs only its id) and null to erase a field', async () => {
    const id = await newWorkOrder();
    const costs = await call('PATCH', `/work-orders/${id}`, {
      body: {
        additionalCosts: [
          COST,
          { id: 'Cost000001', deleteAdditionalCostItem: true },
          { ...COST, date: 1_700_000_000_000 },
        ],
      },
    });
    expect(costs.status).toBe(200);
    const erased = await call('PATCH', `/work-orders/${id}`, {
      body: {
        files: null,
        formItems: null,
        image: null,
        estimatedDurationInHours: null,
        decreaseInventory: null,
      },
    });
    expect(erased.status).toBe(200);
    expect(await call('PATCH', `/work-orders/${id}`, { body: { additionalCosts: [] } })).toMatchObject({
      status: 200,
    });
  });

  it('adds a message from a form body, like the doc curl (-d text=...), or JSON', async () => {
    const id = await newWorkOrder();
    const form = await call('POST', `/work-orders/${id}/update-messages`, { form: { text: 'New message' } });
    expect(form.body).toEqual({ success: true, message: '1 message Added' });
    expect(
      (await call('POST', `/work-orders/${id}/update-messages`, { body: { text: 'Another' } })).status,
    ).toBe(200);
    expect(sim.workOrderMessages(id).map((m) => m.text)).toEqual(['New message', 'Another']);
  });

  it('400: an update message needs its text', async () => {
    const id = await newWorkOrder();
    for (const options of [{ form: {} }, { body: {} }, { body: { text: '' } }]) {
      expect(await call('POST', `/work-orders/${id}/update-messages`, options)).toEqual({
        status: 400,
        body: { success: false, message: 'text cannot be null' },
      });
    }
    expect(
      (await call('POST', `/work-orders/${id}/update-messages`, { body: { text: 5 } })).body.message,
    ).toBe('text must be a String');
    expect(sim.workOrderMessages(id)).toEqual([]);
  });

  it('400: an unknown update-message field is "{field} not in schema" (api-doc.txt Errors)', async () => {
    const id = await newWorkOrder();
    expect(
      await call('POST', `/work-orders/${id}/update-messages`, { body: { text: 'Hi', colour: 'red' } }),
    ).toEqual({ status: 400, body: { success: false, message: 'colour not in schema' } });
  });

  it('answers priority as the doc shows: a number from create, a string from PATCH', async () => {
    const created = await call('POST', '/work-orders', { body: { title: 'Mill down', priority: 1 } });
    expect(created.body.result.priority).toBe(1);
    const patched = await call('PATCH', `/work-orders/${created.body.result.id}`, { body: { priority: 2 } });
    expect(patched.status).toBe(200);
    expect(patched.body.result.priority).toBe('2');
  });
});

describe('UpKeep simulator contract: methods', () => {
  it('405 {success: false, message} for a documented path with a method it does not serve', async () => {
    const id = await newWorkOrder();
    for (const [method, path] of [
      ['PUT', `/work-orders/${id}`],
      ['DELETE', '/assets/downtime'],
      ['PATCH', '/work-orders'],
      ['GET', `/work-orders/${id}/update-messages`],
    ] as const) {
      expect(await call(method, path)).toEqual({
        status: 405,
        body: { success: false, message: 'You tried to access a object with an invalid method.' },
      });
    }
    // Served methods and unknown paths answer as before.
    expect((await call('GET', `/work-orders/${id}`)).status).toBe(200);
    expect((await call('GET', '/nothing-here')).status).toBe(404);
  });

  it('checks the session token before the method', async () => {
    token = 'not-a-token';
    expect(await call('PUT', '/work-orders/anything')).toEqual({
      status: 401,
      body: { success: false, message: 'Unauthorized' },
    });
  });
});

describe('UpKeep simulator contract: purchase orders', () => {
  it('400: customFieldsPO is an Array of objects', async () => {
    const res = await call('POST', '/purchase-orders', { body: { title: 'Restock', customFieldsPO: 'x' } });
    expect(res).toEqual({
      status: 400,
      body: { success: false, message: 'customFieldsPO must be an Array of objects' },
    });
  });

  it('accepts a purchase order with only its title and custom fields as objects', async () => {
    const res = await call('POST', '/purchase-orders', {
      body: { title: 'Restock', customFieldsPO: [{ name: 'Budget', value: 'MRO' }] },
    });
    expect(res.status).toBe(200);
  });
});

describe('UpKeep simulator contract: webhook paths (UPKEEP_WEBHOOK_ITEM_PATH)', () => {
  // api-doc.txt:7812/7864 (curls) say /webhooks/<ID>; 7855/7912 (HTTP lines) say /webhook/<ID>.
  it('answers one webhook on both the plural and the singular path, GET and PATCH', async () => {
    const made = await call('POST', '/webhooks', {
      body: { title: 'Millwright', endpoint: 'https://e.test/h' },
    });
    const id: string = made.body.result.id;
    for (const base of ['/webhooks', '/webhook']) {
      expect(await call('GET', `${base}/${id}`)).toMatchObject({ status: 200, body: { result: { id } } });
    }
    const patched = await call('PATCH', `/webhook/${id}`, { body: { enabled: true } });
    expect(patched).toMatchObject({ status: 200, body: { result: { enabled: true } } });
    expect((await call('GET', `/webhooks/${id}`)).body.result.enabled).toBe(true);
  });
});
