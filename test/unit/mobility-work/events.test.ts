import { describe, expect, it } from '@jest/globals';
import {
  fieldAt,
  MW_EVENT,
  MW_EVENT_NAMES,
  MW_EVENT_SCHEMAS,
  type MwEvent,
  type MwEventName,
  networkMatches,
  requireField,
  sparePartRefOf,
  stockLevelOf,
  taskIdOf,
  taskMetadataOf,
} from '../../../functions/connectors/mobility-work/events.ts';
import { parseMobilityWorkWebhook } from '../../../functions/connectors/mobility-work/webhook.ts';
import { VendorResponseError, WebhookError } from '../../../functions/core/errors.ts';
import type { WebhookRequest } from '../../../functions/core/flow.ts';
import { DOC_NETWORK_ID, DOC_SAMPLES, QUICKSTART_CONSUMED } from './doc-samples.ts';
import { NETWORK_ID, RICH } from './fixtures.ts';

const RECEIVED_AT = new Date('2026-11-02T09:00:00.000Z');
const request = (body: unknown): WebhookRequest => ({
  rawBody: typeof body === 'string' ? body : JSON.stringify(body),
  headers: {},
  pathParameters: {},
  query: {},
  receivedAt: RECEIVED_AT,
});

function rejection(body: unknown): WebhookError {
  try {
    parseMobilityWorkWebhook(request(body));
  } catch (error) {
    if (error instanceof WebhookError) return error;
    throw error;
  }
  throw new Error('expected a WebhookError');
}

const with_ = (name: MwEventName, patch: Record<string, unknown>) => ({ ...RICH[name], ...patch });
/** A payload as a flow's handler gets it: parsed by its event's schema. */
const parsed = (payload: Record<string, unknown>): MwEvent =>
  MW_EVENT_SCHEMAS[payload._event as MwEventName].parse(payload);

describe('event names and flow types', () => {
  it('lists the 11 documented events, each with a schema and a mobility-work.<event> flow type', () => {
    expect(MW_EVENT_NAMES).toHaveLength(11);
    expect(Object.keys(MW_EVENT_SCHEMAS).sort()).toEqual([...MW_EVENT_NAMES].sort());
    for (const name of MW_EVENT_NAMES) expect(MW_EVENT[name]).toBe(`mobility-work.${name}`);
    expect(MW_EVENT.TaskWasCompleted).toBe('mobility-work.TaskWasCompleted');
  });
});

describe('the doc samples (api-doc.txt, verbatim)', () => {
  it.each(MW_EVENT_NAMES)('%s parses and becomes one FlowEvent', (name) => {
    const sample = DOC_SAMPLES[name];
    expect(MW_EVENT_SCHEMAS[name].safeParse(sample).success).toBe(true);
    const { events, ignored } = parseMobilityWorkWebhook(request(sample));
    expect(ignored).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: `mobility-work:${DOC_NETWORK_ID}:i6WeIdxywu`,
      type: `mobility-work.${name}`,
      source: 'mobility-work.webhook',
      data: sample,
    });
  });

  it('the Quickstart SparePartWasConsumed example parses (no _idempotencyKey: id from the body)', () => {
    const { events } = parseMobilityWorkWebhook(request(QUICKSTART_CONSUMED));
    expect(events[0]?.id).toMatch(/^mobility-work:4d4b9269-db6b-4b8f-8577-d01ef451d291:body-[0-9a-f]{16}$/);
    expect(events[0]?.occurredAt).toBe('2023-02-08T23:00:00.000Z');
    expect(stockLevelOf(QUICKSTART_CONSUMED)).toEqual({ quantity: 113 });
  });

  it('takes occurredAt from doneAt, _date or emittedAt, else the receive time', () => {
    const at = (name: MwEventName) =>
      parseMobilityWorkWebhook(request(DOC_SAMPLES[name])).events[0]?.occurredAt;
    expect(at('TaskWasCompleted')).toBe('2021-11-02T16:32:38.000Z');
    expect(at('SparePartWasOutOfStock')).toBe('2022-06-02T14:31:06.000Z');
    expect(at('ActivityWasAddedOnTask')).toBe('2023-06-13T15:23:43.000Z');
    expect(at('TaskWasStarted')).toBe(RECEIVED_AT.toISOString());
  });

  it('gives task events the task id as subject, and part events none when sparePart is empty', () => {
    const subject = (name: MwEventName) =>
      parseMobilityWorkWebhook(request(DOC_SAMPLES[name])).events[0]?.subject;
    expect(subject('TaskWasCompleted')).toBe('32828f62');
    expect(subject('TaskWasScheduled')).toBe('32828f62');
    expect(subject('SparePartWasConsumed')).toBeUndefined();
  });
});

describe('payloads with the contract (A) fields', () => {
  it.each(MW_EVENT_NAMES)('%s parses with every (A) field', (name) => {
    expect(MW_EVENT_SCHEMAS[name].safeParse(RICH[name]).success).toBe(true);
    expect(parseMobilityWorkWebhook(request(RICH[name])).events).toHaveLength(1);
  });

  it('uses the nested times when the envelope has none (scheduled.at, started.at with offset)', () => {
    expect(parseMobilityWorkWebhook(request(RICH.TaskWasScheduled)).events[0]?.occurredAt).toBe(
      '2026-11-02T08:00:05.000Z',
    );
    expect(parseMobilityWorkWebhook(request(RICH.TaskWasStarted)).events[0]?.occurredAt).toBe(
      '2026-11-02T07:10:00.000Z',
    );
  });

  it('subjects: task id for task and activity events, external reference (else native id) for parts', () => {
    const subject = (body: unknown) => parseMobilityWorkWebhook(request(body)).events[0]?.subject;
    expect(subject(RICH.ActivityWasAddedOnTask)).toBe('a1b2c3d4');
    expect(subject(RICH.SparePartWasConsumed)).toBe('UPK-PART-9');
    expect(subject(with_('SparePartWasRestocked', { sparePart: { id: 417304 } }))).toBe('417304');
  });

  it('accepts numeric and string native ids, null task, [] and null nested objects', () => {
    for (const body of [
      with_('TaskWasCompleted', { id: 12345, legacyId: 12345, initiator: [] }),
      with_('SparePartWasRestocked', { task: null, location: null }),
      with_('TaskWasScheduled', {
        metadata: [],
        associatedTo: { equipment: { id: '2507', itemCode: null } },
      }),
      with_('SparePartStockWasUnderMinThreshold', { stock: { quantity: 1, minimumStock: null } }),
    ]) {
      expect(() => parseMobilityWorkWebhook(request(body))).not.toThrow();
    }
  });

  it('lets unknown fields through, at the top and inside nested objects, into data', () => {
    const body = with_('SparePartWasConsumed', {
      brandNew: { x: 1 },
      sparePart: { ...(RICH.SparePartWasConsumed.sparePart as object), costCenter: 'CC-7' },
      tags: [{ code: 'urgent' }],
    });
    const data = parseMobilityWorkWebhook(request(body)).events[0]?.data;
    expect(data).toEqual(body);
    expect(fieldAt(data, 'sparePart.costCenter')).toBe('CC-7');
  });
});

describe('wrong types on the fields we use are a 400 naming the path', () => {
  it.each([
    ['networkId missing', with_('TaskWasStarted', { networkId: undefined }), 'networkId'],
    ['networkId a number', with_('TaskWasStarted', { networkId: 42 }), 'networkId'],
    ['_idempotencyKey a number', with_('TaskWasStarted', { _idempotencyKey: 7 }), '_idempotencyKey'],
    ['taskId an object', with_('TaskWasStarted', { taskId: { id: 1 } }), 'taskId'],
    ['doneAt a number', with_('TaskWasCompleted', { doneAt: 1700000000 }), 'doneAt'],
    ['metadata a string', with_('TaskWasCompleted', { metadata: 'x' }), 'metadata'],
    [
      'consumed.quantity a string',
      with_('SparePartWasConsumed', { consumed: { quantity: '3', previousStock: 116 } }),
      'consumed.quantity',
    ],
    [
      'stock.minimumStock a string',
      with_('SparePartWasOutOfStock', { stock: { quantity: 0, minimumStock: '2' } }),
      'stock.minimumStock',
    ],
    [
      'sparePart.externalReference a number',
      with_('SparePartWasRestocked', { sparePart: { externalReference: 9 } }),
      'sparePart.externalReference',
    ],
    [
      'associatedTo.equipment.itemCode a number',
      with_('TaskWasScheduled', { associatedTo: { equipment: { itemCode: 5 } } }),
      'associatedTo.equipment.itemCode',
    ],
    ['recounted a string', with_('SparePartWasManuallyRecounted', { recounted: 'twelve' }), 'recounted'],
  ])('%s', (_case, body, path) => {
    const error = rejection(body);
    expect(error.statusCode).toBe(400);
    expect(error.message).toContain(`invalid payload at ${path}:`);
  });

  it('refuses a body that is not JSON, not an object, or has no string _event', () => {
    expect(rejection('{not json').message).toMatch(/not valid JSON/);
    expect(rejection([RICH.TaskWasStarted]).message).toMatch(/must be a JSON object/);
    expect(rejection({ networkId: NETWORK_ID }).message).toMatch(/_event/);
    expect(rejection({ _event: 12, networkId: NETWORK_ID }).message).toMatch(/_event/);
  });

  it('ignores an unknown _event instead of failing (even with odd fields)', () => {
    expect(parseMobilityWorkWebhook(request({ _event: 'EquipmentWasCreated', networkId: 1 }))).toEqual({
      events: [],
      ignored: ['EquipmentWasCreated'],
    });
  });
});

describe('accessors', () => {
  it('taskIdOf reads taskId, id (TaskWasCompleted) and task.id (activity and part events)', () => {
    expect(taskIdOf(RICH.TaskWasScheduled)).toBe('a1b2c3d4');
    expect(taskIdOf(with_('TaskWasCompleted', { id: 'c0ffee01' }))).toBe('c0ffee01');
    expect(taskIdOf(with_('ActivityWasAddedOnTask', { task: { id: 77 } }))).toBe('77');
    expect(taskIdOf(RICH.SparePartWasConsumed)).toBe('a1b2c3d4');
    expect(taskIdOf(RICH.SparePartWasRestocked)).toBeUndefined();
  });

  it('taskMetadataOf returns the object, and {} for [], null or absent', () => {
    expect(taskMetadataOf(RICH.TaskWasCompleted)).toEqual({ millwrightEpisode: 'ep-1', machineId: 'm-1' });
    expect(taskMetadataOf(with_('TaskWasCompleted', { metadata: [] }))).toEqual({});
    expect(taskMetadataOf(with_('TaskWasCompleted', { metadata: null }))).toEqual({});
    expect(taskMetadataOf(RICH.SparePartWasConsumed)).toEqual({});
  });

  it('sparePartRefOf gives the external reference, the native id as a string and the name', () => {
    expect(sparePartRefOf(RICH.SparePartWasConsumed)).toEqual({
      externalReference: 'UPK-PART-9',
      id: '417304',
      name: 'Spindle bearing',
    });
    expect(sparePartRefOf(DOC_SAMPLES.SparePartWasConsumed)).toEqual({});
  });

  it('stockLevelOf computes the stock after each stock event', () => {
    expect(stockLevelOf(parsed(RICH.SparePartWasOutOfStock))).toEqual({ quantity: 0, minimum: 2 });
    expect(stockLevelOf(parsed(RICH.SparePartStockWasUnderMinThreshold))).toEqual({
      quantity: 1,
      minimum: 2,
    });
    expect(
      stockLevelOf(
        parsed(with_('SparePartStockWasUnderMinThreshold', { stock: { quantity: 1, minimumStock: null } })),
      ),
    ).toEqual({ quantity: 1, minimum: null });
    expect(stockLevelOf(parsed(RICH.SparePartWasManuallyRecounted))).toEqual({ quantity: 12 });
    expect(stockLevelOf(parsed(RICH.SparePartWasRestocked))).toEqual({ quantity: 6 }); // 1 + 5
    expect(stockLevelOf(parsed(RICH.SparePartWasConsumed))).toEqual({ quantity: 113 }); // 116 - 3
  });

  it('stockLevelOf: {} when the numbers are missing, undefined for events without a stock level', () => {
    expect(stockLevelOf(parsed(DOC_SAMPLES.SparePartWasOutOfStock))).toEqual({});
    expect(stockLevelOf(parsed(with_('SparePartWasConsumed', { consumed: { quantity: 3 } })))).toEqual({});
    expect(stockLevelOf(parsed(RICH.SparePartConsumptionWasCanceled))).toBeUndefined();
    expect(stockLevelOf(parsed(RICH.TaskWasCompleted))).toBeUndefined();
    expect(stockLevelOf({} as MwEvent)).toBeUndefined();
  });

  it('networkMatches: any network when none is configured, else the same UUID (any case)', () => {
    expect(networkMatches(RICH.TaskWasStarted, undefined)).toBe(true);
    expect(networkMatches(RICH.TaskWasStarted, NETWORK_ID.toUpperCase())).toBe(true);
    expect(networkMatches(RICH.TaskWasStarted, DOC_NETWORK_ID)).toBe(false);
  });

  it('requireField returns the value, or throws a non-retryable VendorResponseError naming the path', () => {
    expect(requireField(RICH.SparePartWasConsumed, 'sparePart.externalReference', 'string')).toBe(
      'UPK-PART-9',
    );
    expect(requireField(RICH.SparePartWasConsumed, 'consumed.quantity', 'number')).toBe(3);
    let error: unknown;
    try {
      requireField(DOC_SAMPLES.SparePartWasConsumed, 'sparePart.externalReference');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VendorResponseError);
    expect((error as VendorResponseError).field).toBe('sparePart.externalReference');
    expect((error as VendorResponseError).retryable).toBe(false);
    expect((error as Error).message).toContain('SparePartWasConsumed webhook');
    expect(() => requireField(RICH.SparePartWasConsumed, 'sparePart.name', 'number')).toThrow(
      /expected number/,
    );
  });
});
