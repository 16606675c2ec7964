/**
 * Example Mobility Work webhooks (`millwright test-event <flow> --example NAME`), as the receiver
 * emits them (webhook.ts: id `mobility-work:<network>:<_idempotencyKey>`, `data` = the payload as
 * received, shaped like the doc's request samples). The network is the sandbox's (config/default.json);
 * tasks carry the metadata Millwright puts on the tasks it schedules (the Mill 01 downtime episode of
 * the MachineMetrics examples); spare parts are the sandbox's seeded ones (sandbox/control.ts PARTS).
 */
import type { FlowEvent } from '../../core/flow.ts';
import { MW_EVENT, type MwEventName } from './events.ts';
import { MW_WEBHOOK_SOURCE } from './webhook.ts';

const NETWORK_ID = '17df9a0f-5c04-43c8-b010-b48e1237e6ff';
const TASK_ID = '32828f62';
const MILL_01 = { id: 2507, itemCode: 'EQ-MILL-01', name: 'Mill 01' };
/** What Millwright's downtime flow puts on a task (machinemetrics-downtime-to-mobility-work-task). */
const METADATA = {
  millwrightKey: '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c/2026-03-02T06:40:00.000Z',
  machineId: '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c',
  source: 'millwright',
};
const TECHNICIAN = { id: 3, email: 'tech@plant.example', name: 'Tess Technician' };

function webhook(
  name: MwEventName,
  key: string,
  occurredAt: string,
  subject: string,
  payload: Record<string, unknown>,
): FlowEvent {
  return {
    id: `mobility-work:${NETWORK_ID}:${key}`,
    type: MW_EVENT[name],
    source: MW_WEBHOOK_SOURCE,
    occurredAt,
    subject,
    data: { _event: name, _idempotencyKey: key, ...payload, networkId: NETWORK_ID },
  };
}

const task = (name: MwEventName, key: string, at: string, extra: Record<string, unknown>) =>
  webhook(name, key, at, TASK_ID, {
    taskId: TASK_ID,
    ...extra,
    associatedTo: { equipment: MILL_01 },
    tags: [],
    requiredSpareParts: [],
    metadata: METADATA,
  });

export const taskScheduled = task('TaskWasScheduled', 'exTaskSch1', '2026-03-02T06:41:00.000Z', {
  scheduled: {
    at: '2026-03-02T06:41:00+00:00',
    startDateTime: '2026-03-02T06:41:00+00:00',
    endDateTime: '2026-03-02T07:41:00+00:00',
  },
});
export const taskStarted = task('TaskWasStarted', 'exTaskSta1', '2026-03-02T06:55:00.000Z', {
  started: { at: '2026-03-02T06:55:00+00:00' },
});
export const taskCanceled = task('TaskWasCanceled', 'exTaskCan1', '2026-03-02T07:20:00.000Z', {
  canceled: { at: '2026-03-02T07:20:00+00:00', reason: 'Machine restarted on its own' },
});
export const taskCompleted = webhook('TaskWasCompleted', 'exTaskCom1', '2026-03-02T07:30:00.000Z', TASK_ID, {
  legacyId: TASK_ID,
  id: TASK_ID,
  doneAt: '2026-03-02T07:30:00+00:00',
  initiator: TECHNICIAN,
  associatedTo: { equipment: MILL_01 },
  tags: [],
  requiredSpareParts: [],
  metadata: METADATA,
});

const BEARING = { id: 'sp-bearing-6204', externalReference: 'PartBearing6204', name: 'Bearing 6204' };
const BELT = { id: 'sp-belt-a42', externalReference: 'PartBeltA42', name: 'V-belt A42' };
const WORKSHOP = { name: 'Main workshop' };

export const sparePartUnderMinimum = webhook(
  'SparePartStockWasUnderMinThreshold',
  'exSpUnder1',
  '2026-03-02T09:00:00.000Z',
  BELT.externalReference,
  {
    _date: '2026-03-02T09:00:00+00:00',
    _metadata: null,
    stock: { quantity: 1, minimumStock: 2 },
    sparePart: BELT,
    movement: { type: 'consumption', quantity: 2 },
  },
);
export const sparePartOutOfStock = webhook(
  'SparePartWasOutOfStock',
  'exSpOut001',
  '2026-03-02T09:30:00.000Z',
  BELT.externalReference,
  {
    _date: '2026-03-02T09:30:00+00:00',
    _metadata: null,
    stock: { quantity: 0, minimumStock: 2 },
    sparePart: BELT,
    movement: { type: 'consumption', quantity: 1 },
  },
);
export const sparePartRestocked = webhook(
  'SparePartWasRestocked',
  'exSpRest01',
  '2026-03-02T10:00:00.000Z',
  BELT.externalReference,
  {
    _type: 'SparePartWasRestockedWebhook',
    _sentAt: '2026-03-02T10:00:05+00:00',
    emittedAt: '2026-03-02T10:00:00+00:00',
    _metadata: '',
    task: null,
    sparePart: BELT,
    location: WORKSHOP,
    initiator: TECHNICIAN,
    restocked: { quantity: 5, previousStock: 0 },
  },
);
export const sparePartRecounted = webhook(
  'SparePartWasManuallyRecounted',
  'exSpRec001',
  '2026-03-02T10:30:00.000Z',
  BEARING.externalReference,
  {
    _type: 'SparePartWasManuallyRecountedWebhook',
    _sentAt: '2026-03-02T10:30:05+00:00',
    emittedAt: '2026-03-02T10:30:00+00:00',
    _metadata: '',
    sparePart: BEARING,
    location: WORKSHOP,
    initiator: TECHNICIAN,
    recounted: { quantity: 3, previousStock: 12 },
  },
);

export const mobilityWorkExamples = {
  'task-scheduled': taskScheduled,
  'task-started': taskStarted,
  'task-completed': taskCompleted,
  'task-canceled': taskCanceled,
  'spare-part-under-minimum': sparePartUnderMinimum,
  'spare-part-out-of-stock': sparePartOutOfStock,
  'spare-part-restocked': sparePartRestocked,
  'spare-part-recounted': sparePartRecounted,
} as const satisfies Record<string, FlowEvent>;
