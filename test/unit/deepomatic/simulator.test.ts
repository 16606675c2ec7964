/** The Deepomatic simulator over raw HTTP: validations, statuses, progress with the clock, control routes. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { DeepomaticSimWorkOrderView } from '../../../functions/connectors/deepomatic/simulator/index.ts';
import { auth, type Harness, startHarness, T0 } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.sim.close());
beforeEach(() => {
  h.sim.reset();
  h.sim.faults.length = 0;
  h.clock.advance(Date.parse(T0) - h.clock.now().getTime());
});

const create = (body: unknown) => h.call('POST', '/v0.2/work-orders/', body, auth);
async function created(body: Record<string, unknown> = {}): Promise<DeepomaticSimWorkOrderView> {
  const r = await create({ name: 'wo-1', metadata: {}, ...body });
  expect(r.status).toBe(201);
  return r.body as DeepomaticSimWorkOrderView;
}

describe('deepomatic simulator: auth and routing', () => {
  it('answers E4 401s without or with a wrong token', async () => {
    expect(await h.call('GET', '/v0.2/work-orders/x/')).toEqual({
      status: 401,
      body: { detail: 'Authentication credentials not provided.' },
    });
    expect(
      await h.call('GET', '/v0.2/work-orders/x/', undefined, { authorization: 'Bearer abc' }),
    ).toMatchObject({
      status: 401,
      body: { detail: 'Authentication credentials not provided.' },
    });
    expect(await h.call('GET', '/v0.2/work-orders/x/', undefined, { authorization: 'Token wrong' })).toEqual({
      status: 401,
      body: { detail: 'No user found for such apiKey.' },
    });
  });

  it('requires the trailing slash', async () => {
    expect(await h.call('POST', '/v0.2/work-orders', { name: 'a', metadata: {} }, auth)).toEqual({
      status: 404,
      body: { detail: 'Not found.' },
    });
    expect(h.sim.workOrders()).toEqual([]);
  });

  it('GET, PATCH and DELETE of an unknown id answer E4 404', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      expect(
        await h.call(method, '/v0.2/work-orders/nope/', method === 'PATCH' ? { tags: [] } : undefined, auth),
      ).toEqual({
        status: 404,
        body: { detail: 'WorkOrder not found!' },
      });
    }
  });
});

describe('deepomatic simulator: create', () => {
  it('creates with the doc shape, tasks from the types and types sorted by name', async () => {
    const wo = await created({
      name: 'upkeep-WO1',
      metadata: { cmms: 'upkeep' },
      tags: ['g1'],
      field_engineer_email: 'tech@plant.example',
      work_order_types: ['photo-validation', 'maintenance'],
    });
    expect(wo).toMatchObject({
      name: 'upkeep-WO1',
      progress_score: 0,
      review_date: null,
      create_date: '2026-11-02T08:00:00.000000Z',
      update_date: '2026-11-02T08:00:00.000000Z',
      metadata: { cmms: 'upkeep' },
      tags: ['g1'],
      field_engineer_email: 'tech@plant.example',
      field_engineer_name: 'Tech',
      parameters: null,
    });
    expect(wo.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(wo.types.map((t) => t.name)).toEqual(['maintenance', 'photo-validation']);
    expect(wo.tasks.map((t) => [t.name, t.type, t.group_name, t.state])).toEqual([
      ['equipment_after_intervention', 'Boolean', 'equipment-after-intervention', null],
      ['nameplate_visible', 'Boolean', 'nameplate', null],
      ['work_area_clean', 'Boolean', 'work-area', null],
    ]);
    expect(wo.task_groups.map((g) => [g.name, g.order])).toEqual([
      ['equipment-after-intervention', 0],
      ['nameplate', 1],
      ['work-area', 2],
    ]);
    expect(
      (await h.call('GET', `/v0.2/work-orders/${wo.id}/?include_inputs=false`, undefined, auth)).body,
    ).toEqual(wo);
  });

  it('without types activates every configured type', async () => {
    const wo = await created();
    expect(wo.types).toEqual([]);
    expect(wo.tasks).toHaveLength(3);
  });

  it('validates the name (E1): missing, charset, length', async () => {
    expect(await create({ metadata: {} })).toEqual({
      status: 400,
      body: { name: ["Field 'name' is missing. This field is required."] },
    });
    expect(await create({ name: 'bad name', metadata: {} })).toEqual({
      status: 400,
      body: { name: ['Only letters, numbers, underscores and hyphens are accepted for the name.'] },
    });
    expect(await create({ name: '', metadata: {} })).toMatchObject({ status: 400 });
    expect(await create({ name: 'x'.repeat(129), metadata: {} })).toEqual({
      status: 400,
      body: { name: ['The name is limited to 128 characters maximum.'] },
    });
    expect((await create({ name: 'x'.repeat(128), metadata: {} })).status).toBe(201);
  });

  it('requires metadata, when sent, to be a key-value object (400 E1)', async () => {
    for (const metadata of [[1], 'x', null]) {
      const r = await create({ name: 'a', metadata });
      expect(r.status).toBe(400);
      expect(Object.keys(r.body as object)).toEqual(['metadata']);
    }
  });

  it('DEEPOMATIC_NAME_ASCII_ONLY: a name with a non-ASCII letter is refused (E1)', async () => {
    expect(await create({ name: 'café', metadata: {} })).toEqual({
      status: 400,
      body: { name: ['Only letters, numbers, underscores and hyphens are accepted for the name.'] },
    });
  });

  it('lists every E1 field error at once; an unknown type is one of them (DEEPOMATIC_SIM_UNKNOWN_TYPES_REFUSED)', async () => {
    expect(await create({ name: 'a b', metadata: [], work_order_types: ['welding'], tags: 'x' })).toEqual({
      status: 400,
      body: {
        name: ['Only letters, numbers, underscores and hyphens are accepted for the name.'],
        metadata: ['The metadata must be sent as a key-value object, got list.'],
        tags: ['Expected a list of strings.'],
        work_order_types: ['Unknown work order type(s): welding.'],
      },
    });
    expect((await create('not json')).status).toBe(400);
  });

  it('refuses an engineer without a Deepomatic account (E2)', async () => {
    expect(await create({ name: 'a', metadata: {}, field_engineer_email: 'ghost@plant.example' })).toEqual({
      status: 400,
      body: { detail: { field_engineer_email: 'There is no user with this email.' } },
    });
    expect(h.sim.workOrders()).toEqual([]);
  });

  it('accepts duplicate names (uniqueness is only recommended)', async () => {
    const a = await created({ name: 'dup' });
    const b = await created({ name: 'dup' });
    expect(a.id).not.toBe(b.id);
  });

  it('a metadata-less create passes by default: the doc marks metadata optional', async () => {
    const r = await create({ name: 'a' });
    expect(r.status).toBe(201);
    expect((r.body as DeepomaticSimWorkOrderView).metadata).toBeNull();
  });

  it('requireMetadata (opt-in) refuses a metadata-less create with the E1 error the doc lists', async () => {
    const strict = await startHarness({ requireMetadata: true });
    try {
      expect(await strict.call('POST', '/v0.2/work-orders/', { name: 'a' }, auth)).toEqual({
        status: 400,
        body: { metadata: ["Field 'metadata' is missing. This field is required."] },
      });
      expect(
        (await strict.call('POST', '/v0.2/work-orders/', { name: 'a', metadata: {} }, auth)).status,
      ).toBe(201);
    } finally {
      await strict.sim.close();
    }
  });

  it('accepts a create with only the required name, and every optional field in its documented type', async () => {
    expect((await create({ name: 'only-a-name' })).status).toBe(201);
    const full = await create({
      name: 'work-order',
      metadata: { region: 'North', intervention_date: '05-29-2023' },
      tags: ['group-1', 'group-2'],
      field_engineer_email: 'tech@plant.example',
      user_group_ids: [],
      work_order_types: ['maintenance'],
    });
    expect(full.status).toBe(201);
  });

  it.each([
    ['tags', { tags: 'group-1' }, 'Expected a list of strings.'],
    ['user_group_ids', { user_group_ids: 'g1' }, 'Expected a list of items.'],
    ['work_order_types', { work_order_types: 'maintenance' }, 'Expected a list of strings.'],
    ['field_engineer_email', { field_engineer_email: 7 }, 'Not a valid string.'],
    ['name', { name: 7 }, 'Not a valid string.'],
  ])('400 E1: %s has its documented type', async (field, fields, message) => {
    expect(await create({ name: 'a', ...fields })).toEqual({ status: 400, body: { [field]: [message] } });
  });

  it('400: field_engineer_email null is not a string (api-doc.txt:158-160, 331-333 type string)', async () => {
    expect(await create({ name: 'a', field_engineer_email: null })).toEqual({
      status: 400,
      body: { field_engineer_email: ['Not a valid string.'] },
    });
    const wo = await created();
    const patched = await h.call(
      'PATCH',
      `/v0.2/work-orders/${wo.id}/`,
      { field_engineer_email: null },
      auth,
    );
    expect(patched).toEqual({
      status: 400,
      body: { error: 'Serialization error', detail: { field_engineer_email: 'Not a valid string.' } },
    });
  });
});

describe('deepomatic simulator: update and delete', () => {
  it('PATCH overrides the fields sent, keeps the tasks (DEEPOMATIC_SIM_PATCH_KEEPS_TASKS) and moves update_date', async () => {
    const wo = await created({
      tags: ['a', 'b'],
      metadata: { x: '1', y: '2' },
      work_order_types: ['maintenance'],
    });
    h.clock.advance(60_000);
    const r = await h.call(
      'PATCH',
      `/v0.2/work-orders/${wo.id}/`,
      { tags: ['c'], metadata: { z: '3' }, work_order_types: ['photo-validation'] },
      auth,
    );
    expect(r.status).toBe(200);
    const body = r.body as DeepomaticSimWorkOrderView;
    expect(body.tags).toEqual(['c']);
    expect(body.metadata).toEqual({ z: '3' });
    expect(body.types.map((t) => t.name)).toEqual(['photo-validation']);
    expect(body.tasks.map((t) => t.name)).toEqual(['work_area_clean']);
    expect(body.update_date).toBe('2026-11-02T08:01:00.000000Z');
    expect(body.name).toBe('wo-1');
  });

  it('DEEPOMATIC_SIM_UNKNOWN_TYPES_REFUSED: a PATCH with an unknown type is an E3 400', async () => {
    const wo = await created();
    expect(
      await h.call('PATCH', `/v0.2/work-orders/${wo.id}/`, { work_order_types: ['welding'] }, auth),
    ).toEqual({
      status: 400,
      body: {
        error: 'Serialization error',
        detail: { work_order_types: 'Unknown work order type(s): welding.' },
      },
    });
  });

  it('PATCH errors are E3: unknown engineer, bad name, bad metadata', async () => {
    const wo = await created();
    const path = `/v0.2/work-orders/${wo.id}/`;
    expect(await h.call('PATCH', path, { field_engineer_email: 'richard.roe@deepomatic.com' }, auth)).toEqual(
      {
        status: 400,
        body: {
          error: 'Serialization error',
          detail: { field_engineer_email: 'There is no user with this email.' },
        },
      },
    );
    expect(await h.call('PATCH', path, { name: 'a/b', metadata: 'x' }, auth)).toEqual({
      status: 400,
      body: {
        error: 'Serialization error',
        detail: {
          name: 'Only letters, numbers, underscores and hyphens are accepted for the name.',
          metadata: 'The metadata must be sent as a key-value object, got string.',
        },
      },
    });
  });

  it('DELETE answers 204 with an empty body, then 404', async () => {
    const wo = await created();
    expect(await h.call('DELETE', `/v0.2/work-orders/${wo.id}/`, undefined, auth)).toEqual({
      status: 204,
      body: undefined,
    });
    expect((await h.call('DELETE', `/v0.2/work-orders/${wo.id}/`, undefined, auth)).status).toBe(404);
  });
});

describe('deepomatic simulator: progress, review and outcome', () => {
  it('advances progress with the sandbox clock at progressPerMinute until 100', async () => {
    const wo = await created();
    const at = () => h.sim.workOrder(wo.id) as DeepomaticSimWorkOrderView;
    h.clock.advance(30_000);
    expect(at().progress_score).toBe(10);
    expect(at().update_date).toBe('2026-11-02T08:00:30.000000Z');
    h.clock.advance(31_000);
    expect(at().progress_score).toBe(20);
    expect(at().update_date).toBe('2026-11-02T08:01:00.000000Z'); // when it reached 20
    h.clock.advance(10 * 60_000);
    expect(at().progress_score).toBe(100);
    expect(at().update_date).toBe('2026-11-02T08:05:00.000000Z');
    expect(at().review_date).toBeNull();
    expect(at().tasks.every((t) => t.state === null)).toBe(true);
  });

  it('progressPerMinute 0 never moves', async () => {
    const still = await startHarness({ progressPerMinute: 0 });
    try {
      const r = await still.call('POST', '/v0.2/work-orders/', { name: 'a', metadata: {} }, auth);
      still.clock.advance(3_600_000);
      expect(still.sim.workOrder((r.body as { id: string }).id)?.progress_score).toBe(0);
    } finally {
      await still.sim.close();
    }
  });

  it('POST /_sandbox/work-orders/:id/outcome passes every task, sets progress 100 and the review', async () => {
    const wo = await created({ work_order_types: ['photo-validation'] });
    h.clock.advance(5_000);
    const r = await h.call('POST', `/_sandbox/work-orders/${wo.id}/outcome`, {
      outcome: 'passed',
      review: true,
    });
    expect(r.status).toBe(200);
    const body = r.body as DeepomaticSimWorkOrderView;
    expect(body.progress_score).toBe(100);
    expect(body.tasks.map((t) => t.state)).toEqual([true, true]);
    expect(body.review_date).toBe('2026-11-02T08:00:05.000000Z');
    expect(body.update_date).toBe('2026-11-02T08:00:05.000000Z');
  });

  it('POST /_sandbox/work-orders/by-name/:name/outcome fails the tasks (all, or the ones named)', async () => {
    await created({ name: 'upkeep-A', work_order_types: ['photo-validation'] });
    const all = await h.call('POST', '/_sandbox/work-orders/by-name/upkeep-A/outcome', { outcome: 'failed' });
    expect((all.body as DeepomaticSimWorkOrderView).tasks.map((t) => t.state)).toEqual([false, false]);
    expect((all.body as DeepomaticSimWorkOrderView).review_date).toBeNull();
    const one = await h.call('POST', '/_sandbox/work-orders/by-name/upkeep-A/outcome', {
      outcome: 'failed',
      failedTasks: ['nameplate_visible'],
    });
    expect((one.body as DeepomaticSimWorkOrderView).tasks.map((t) => [t.name, t.state])).toEqual([
      ['equipment_after_intervention', true],
      ['nameplate_visible', false],
    ]);
  });

  it('control errors: unknown work order 404, bad outcome or task 400', async () => {
    await created({ name: 'w' });
    expect((await h.call('POST', '/_sandbox/work-orders/nope/outcome', { outcome: 'passed' })).status).toBe(
      404,
    );
    expect(
      (await h.call('POST', '/_sandbox/work-orders/by-name/w/outcome', { outcome: 'maybe' })).status,
    ).toBe(400);
    expect(
      (
        await h.call('POST', '/_sandbox/work-orders/by-name/w/outcome', {
          outcome: 'failed',
          failedTasks: ['zz'],
        })
      ).status,
    ).toBe(400);
  });

  it('review, task-states and state routes; methods mirror them (by id or name)', async () => {
    const wo = await created({ name: 'w', work_order_types: ['maintenance'] });
    h.clock.advance(1_000);
    const reviewed = await h.call('POST', `/_sandbox/work-orders/${wo.id}/review`, {});
    expect((reviewed.body as DeepomaticSimWorkOrderView).review_date).toBe('2026-11-02T08:00:01.000000Z');
    const states = await h.call('POST', `/_sandbox/work-orders/${wo.id}/task-states`, {
      states: { work_area_clean: { conform: false } },
    });
    expect((states.body as DeepomaticSimWorkOrderView).tasks[0]?.state).toEqual({ conform: false });
    expect(
      (await h.call('POST', `/_sandbox/work-orders/${wo.id}/task-states`, { states: { x: 1 } })).status,
    ).toBe(400);
    const state = await h.call('GET', '/_sandbox/state');
    expect(state.body).toMatchObject({
      now: '2026-11-02T08:00:01.000Z',
      engineers: ['tech@plant.example'],
      workOrderTypes: ['photo-validation', 'maintenance'],
      progressPerMinute: 20,
      workOrders: [{ id: wo.id, name: 'w' }],
    });
    expect(h.sim.setOutcome('w', 'passed').tasks[0]?.state).toBe(true);
    expect(h.sim.workOrders()).toHaveLength(1);
    expect((await h.call('POST', '/_sandbox/reset')).status).toBe(200);
    expect(h.sim.workOrders()).toEqual([]);
  });

  it('custom engineers and types (other types get a generic task)', async () => {
    const custom = await startHarness({ engineers: ['Ann@Plant.example'], workOrderTypes: ['hot-work'] });
    try {
      const r = await custom.call(
        'POST',
        '/v0.2/work-orders/',
        {
          name: 'a',
          metadata: {},
          field_engineer_email: 'ann@plant.example',
          work_order_types: ['hot-work'],
        },
        auth,
      );
      expect(r.status).toBe(201);
      expect((r.body as DeepomaticSimWorkOrderView).tasks.map((t) => t.name)).toEqual(['hot_work_done']);
      const bad = await custom.call(
        'POST',
        '/v0.2/work-orders/',
        { name: 'a', metadata: {}, work_order_types: ['maintenance'] },
        auth,
      );
      expect(bad.status).toBe(400);
    } finally {
      await custom.sim.close();
    }
  });

  it('faults from the shared toolkit apply (status with retry-after)', async () => {
    h.sim.faults.push({
      match: 'GET /v0.2/work-orders',
      status: 503,
      retryAfterSeconds: 2,
      body: { detail: 'down' },
    });
    expect(await h.call('GET', '/v0.2/work-orders/x/', undefined, auth)).toEqual({
      status: 503,
      body: { detail: 'down' },
    });
    expect((await h.call('GET', '/v0.2/work-orders/x/', undefined, auth)).status).toBe(404);
  });
});
