/**
 * The Click Maint simulator's request contract (api-doc.txt): what the doc marks required is required
 * and every field sent has its documented type (422 `{status: 'error', message}` naming the field);
 * optional fields may be omitted. One test per rule.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  type ClickMaintSimulator,
  startClickMaintSimulator,
} from '../../../functions/connectors/click-maint/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { API_KEY, T0, virtualTime } from './support.ts';

const clock = manualClock();
const time = virtualTime();
let sim: ClickMaintSimulator;

beforeAll(async () => {
  sim = await startClickMaintSimulator({ clock, apiKey: API_KEY, wallClock: time.now });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  clock.advance(T0 - clock.now().getTime());
  sim.reset();
});

async function call(method: string, path: string, body: unknown) {
  const res = await fetch(`${sim.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${API_KEY}`,
      'x-entity-id': '1',
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { status: string; message?: string } };
}

const WORK_ORDER_RULES: [string, Record<string, unknown>, string][] = [
  [
    'work_order_request_id is an integer',
    { work_order_request_id: '864' },
    'Work order request id must be an integer',
  ],
  ['location_id is an integer', { location_id: 1.5 }, 'Location id must be an integer'],
  ['description is a string (a number is refused)', { description: 42 }, 'Description must be a string'],
  [
    'description is a string (an object is refused)',
    { description: { text: 'x' } },
    'Description must be a string',
  ],
  [
    'categories_ids is an array of integers',
    { categories_ids: 10 },
    'Categories ids must be an array of integers',
  ],
  [
    'account_codes_ids holds integers',
    { account_codes_ids: ['1'] },
    'Account codes ids must be an array of integers',
  ],
  [
    'procedure_template_ids holds integers',
    { procedure_template_ids: [null] },
    'Procedure template ids must be an array of integers',
  ],
  [
    'technicians_ids holds integers',
    { technicians_ids: [3.5] },
    'Technicians ids must be an array of integers',
  ],
  [
    'vendors_ids is an array of integers',
    { vendors_ids: { id: 32 } },
    'Vendors ids must be an array of integers',
  ],
  [
    'notify_vendors_on_create is a string ("yes")',
    { notify_vendors_on_create: true },
    'Notify vendors on create must be a string',
  ],
  [
    'notify_vendors_on_update is a string ("yes")',
    { notify_vendors_on_update: 1 },
    'Notify vendors on update must be a string',
  ],
  ['checklist is an array of items', { checklist: 'Inspect drain' }, 'Checklist must be an array of items'],
  ['a checklist text is a string', { checklist: [{ text: 5 }] }, 'Checklist item 0 text must be a string'],
  [
    'a checklist order is an integer',
    { checklist: [{ text: 'Inspect', order: '1' }] },
    'Checklist item 0 order must be an integer',
  ],
  [
    'a checklist checked is a boolean',
    { checklist: [{ text: 'Inspect', checked: 'no' }] },
    'Checklist item 0 checked must be a boolean',
  ],
];

describe('click-maint simulator contract: work orders', () => {
  it.each(WORK_ORDER_RULES)('create 422: %s', async (_rule, fields, message) => {
    const res = await call('POST', '/work_orders', { work_order: { title: 'Fix spindle', ...fields } });
    expect(res).toEqual({ status: 422, body: { status: 'error', message } });
    expect(sim.workOrders(1)).toEqual([]);
  });

  it.each(WORK_ORDER_RULES)('update 422: %s', async (_rule, fields, message) => {
    const { body } = await call('POST', '/work_orders', { work_order: { title: 'Fix spindle' } });
    const id = (body as unknown as { data: { id: number } }).data.id;
    const res = await call('PATCH', `/work_orders/${id}`, { work_order: fields });
    expect(res).toEqual({ status: 422, body: { status: 'error', message } });
    expect(sim.workOrders(1)[0]?.extra).toEqual({});
  });

  it("accepts the doc's full create sample and a create with only a title", async () => {
    const sample = {
      title: 'Fix water leakage in Freezer',
      type: 'reactive',
      description: 'Water leakage due to blocked defrost drain',
      priority: 'high',
      work_order_request_id: 864,
      due_date: '2025-07-17T12:00:00Z',
      completed_at: '2025-07-15T09:30:00Z',
      location_id: 122,
      asset_id: 45,
      status_id: 5,
      categories_ids: [10],
      account_codes_ids: [1],
      procedure_template_ids: [10],
      technicians_ids: [3],
      vendors_ids: [32],
      notify_vendors_on_create: 'yes',
      notify_vendors_on_update: 'yes',
      checklist: [
        { text: 'Inspect defrost drain for blockages', order: 1, checked: false },
        { text: 'Clear drain line with warm water', order: 2, checked: false },
      ],
    };
    expect((await call('POST', '/work_orders', { work_order: sample })).status).toBe(201);
    expect((await call('POST', '/work_orders', { work_order: { title: 'Only a title' } })).status).toBe(201);
  });

  it('clears a work-order field with null', async () => {
    const { body } = await call('POST', '/work_orders', { work_order: { title: 'x', location_id: 122 } });
    const id = (body as unknown as { data: { id: number } }).data.id;
    expect((await call('PATCH', `/work_orders/${id}`, { work_order: { location_id: null } })).status).toBe(
      200,
    );
    expect(sim.workOrders(1)[0]?.extra).toEqual({ location_id: null });
  });
});

describe('click-maint simulator contract: stock actions', () => {
  it('restock 422: note is a string when sent', async () => {
    const res = await call('PATCH', '/parts/102/restock', { quantity: 1, cost: 2, note: 12345 });
    expect(res).toEqual({ status: 422, body: { status: 'error', message: 'Note must be a string' } });
    expect(sim.parts(1).find((p) => p.id === 102)?.on_hand_qty).toBe(2);
  });

  it('restock 422: quantity is a number', async () => {
    const res = await call('PATCH', '/parts/102/restock', { quantity: '1', cost: 2 });
    expect(res).toEqual({ status: 422, body: { status: 'error', message: 'Quantity is not a number' } });
  });

  it('restock 422: cost is >= 0', async () => {
    const res = await call('PATCH', '/parts/102/restock', { quantity: 1, cost: -2 });
    expect(res).toEqual({
      status: 422,
      body: { status: 'error', message: 'Cost must be greater than or equal to 0' },
    });
  });

  it('reconcile 422: quantity is required', async () => {
    const res = await call('PATCH', '/parts/102/reconcile', { note: 'count' });
    expect(res).toEqual({ status: 422, body: { status: 'error', message: "Quantity can't be blank" } });
  });

  it('accepts a restock without a note (optional) and with a null one', async () => {
    expect((await call('PATCH', '/parts/102/restock', { quantity: 1, cost: 2 })).status).toBe(200);
    expect((await call('PATCH', '/parts/102/restock', { quantity: 1, cost: 2, note: null })).status).toBe(
      200,
    );
  });
});
