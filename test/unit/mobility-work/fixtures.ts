/**
 * Payloads with every contract "(A)" field filled in (what the simulator sends), and env helpers
 * for the Mobility Work connector tests.
 */
import type { MwEventName } from '../../../functions/connectors/mobility-work/events.ts';

export const NETWORK_ID = '4d4b9269-db6b-4b8f-8577-d01ef451d291';
export const OTHER_NETWORK_ID = '17df9a0f-5c04-43c8-b010-b48e1237e6ff';
export const SECRET_NAME = 'millwright/mobility-work';
export const API_KEY = '913a8f7cef6ff084f1635511b9c7d07c3bab2816';

const equipment = { id: 2507, itemCode: 'MILL-01', name: 'Mill 1' };
const initiator = { id: 3, email: 'jane.doe@plant.example', name: 'Jane Doe' };
const sparePart = { id: 417304, externalReference: 'UPK-PART-9', name: 'Spindle bearing' };
const location = { name: 'Main store' };
const metadata = { millwrightEpisode: 'ep-1', machineId: 'm-1' };

const taskCommon = {
  associatedTo: { equipment },
  tags: [],
  requiredSpareParts: [],
  metadata,
  networkId: NETWORK_ID,
};

export const RICH: Record<MwEventName, Record<string, unknown>> = {
  TaskWasScheduled: {
    _event: 'TaskWasScheduled',
    _idempotencyKey: 'Sched00001',
    taskId: 'a1b2c3d4',
    scheduled: {
      at: '2026-11-02T08:00:05+00:00',
      startDateTime: '2026-11-02T08:00:00+00:00',
      endDateTime: '2026-11-02T09:00:00+00:00',
    },
    ...taskCommon,
  },
  TaskWasStarted: {
    _event: 'TaskWasStarted',
    _idempotencyKey: 'Start00001',
    taskId: 'a1b2c3d4',
    started: { at: '2026-11-02T08:10:00+01:00' },
    ...taskCommon,
  },
  TaskWasCanceled: {
    _event: 'TaskWasCanceled',
    _idempotencyKey: 'Cancl00001',
    taskId: 'a1b2c3d4',
    canceled: { at: '2026-11-02T08:20:00+00:00', reason: null },
    ...taskCommon,
  },
  TaskWasCompleted: {
    _event: 'TaskWasCompleted',
    _idempotencyKey: 'Compl00001',
    legacyId: 'a1b2c3d4',
    id: 'a1b2c3d4',
    doneAt: '2026-11-02T08:45:00+00:00',
    initiator,
    ...taskCommon,
  },
  ActivityWasAddedOnTask: {
    _event: 'ActivityWasAddedOnTask',
    _idempotencyKey: 'Activ00001',
    _type: 'ActivityWasAddedOnTaskWebhook',
    _sentAt: '2026-11-02T08:30:05+00:00',
    _metadata: [],
    emittedAt: '2026-11-02T08:30:00+00:00',
    task: { id: 'a1b2c3d4' },
    equipment: { id: 2507 },
    activity: { id: 99, comment: 'Replaced the bearing' },
    networkId: NETWORK_ID,
    requiredSpareParts: [],
  },
  SparePartWasOutOfStock: {
    _event: 'SparePartWasOutOfStock',
    _idempotencyKey: 'OutOf00001',
    _date: '2026-11-02T08:31:00+00:00',
    _metadata: null,
    stock: { quantity: 0, minimumStock: 2 },
    sparePart,
    movement: { type: 'consumption', quantity: 1 },
    networkId: NETWORK_ID,
  },
  SparePartStockWasUnderMinThreshold: {
    _event: 'SparePartStockWasUnderMinThreshold',
    _idempotencyKey: 'Under00001',
    _date: '2026-11-02T08:31:00+00:00',
    _metadata: null,
    stock: { quantity: 1, minimumStock: 2 },
    sparePart,
    movement: { type: 'consumption', quantity: 1 },
    networkId: NETWORK_ID,
  },
  SparePartWasManuallyRecounted: {
    _type: 'SparePartWasManuallyRecountedWebhook',
    _event: 'SparePartWasManuallyRecounted',
    _idempotencyKey: 'Recnt00001',
    _sentAt: '2026-11-02T08:40:05+00:00',
    emittedAt: '2026-11-02T08:40:00+00:00',
    _metadata: '',
    sparePart,
    location,
    initiator,
    recounted: { quantity: 12, previousStock: 9 },
    networkId: NETWORK_ID,
  },
  SparePartWasRestocked: {
    _type: 'SparePartWasRestockedWebhook',
    _event: 'SparePartWasRestocked',
    _idempotencyKey: 'Restk00001',
    _sentAt: '2026-11-02T08:41:05+00:00',
    emittedAt: '2026-11-02T08:41:00+00:00',
    _metadata: '',
    task: null,
    sparePart,
    location,
    initiator,
    restocked: { quantity: 5, previousStock: 1 },
    networkId: NETWORK_ID,
  },
  SparePartWasConsumed: {
    _type: 'SparePartWasConsumedWebhook',
    _event: 'SparePartWasConsumed',
    _idempotencyKey: 'Consm00001',
    _sentAt: '2026-11-02T08:42:05+00:00',
    emittedAt: '2026-11-02T08:42:00+00:00',
    _metadata: '',
    task: { id: 'a1b2c3d4' },
    sparePart,
    location,
    initiator,
    consumed: { _type: 'SparePartConsumption', quantity: 3, previousStock: 116 },
    networkId: NETWORK_ID,
  },
  SparePartConsumptionWasCanceled: {
    _type: 'SparePartConsumptionWasCanceledWebhook',
    _event: 'SparePartConsumptionWasCanceled',
    _idempotencyKey: 'CnclC00001',
    _sentAt: '2026-11-02T08:43:05+00:00',
    emittedAt: '2026-11-02T08:43:00+00:00',
    _metadata: '',
    task: { id: 'a1b2c3d4' },
    sparePart,
    activity: { id: 99 },
    location,
    networkId: NETWORK_ID,
  },
};
