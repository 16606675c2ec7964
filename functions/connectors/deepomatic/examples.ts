/**
 * Example Deepomatic events (`millwright test-event <flow> --example NAME`), as the open-work-orders
 * poll source emits them (poll-source.ts): the photo validation of UpKeep work order WoMill0001 (the
 * UpKeep examples' work order) fully analysed and passed, then deleted in Deepomatic.
 */
import type { FlowEvent } from '../../core/flow.ts';
import {
  changedEventId,
  DEEPOMATIC_POLL_EVENT_SOURCE,
  DEEPOMATIC_WORK_ORDER_CHANGED,
  DEEPOMATIC_WORK_ORDER_DELETED,
  type DeepomaticWorkOrderChangedData,
  type DeepomaticWorkOrderDeletedData,
  deletedEventId,
  workOrderFingerprint,
} from './poll-source.ts';

const WORK_ORDER = {
  id: '6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f',
  name: 'upkeep-WoMill0001',
  cmms: 'upkeep',
  cmmsWorkOrderId: 'WoMill0001',
};
const UPDATE_DATE = '2026-03-02T09:12:11.584841Z';
/** Task names and states come from the Deepomatic application; these are the simulator's kind. */
const tasks = [
  { name: 'guard_in_place', state: true },
  { name: 'area_clean', state: true },
];

export const workOrderValidated: FlowEvent = {
  id: changedEventId(
    { id: WORK_ORDER.id, update_date: UPDATE_DATE },
    workOrderFingerprint({ progress_score: 100, review_date: null, tasks }),
  ),
  type: DEEPOMATIC_WORK_ORDER_CHANGED,
  source: DEEPOMATIC_POLL_EVENT_SOURCE,
  occurredAt: '2026-03-02T09:12:11.584Z',
  subject: WORK_ORDER.id,
  data: {
    ...WORK_ORDER,
    progressScore: 100,
    reviewDate: null,
    updateDate: UPDATE_DATE,
    tasks,
    metadata: {
      cmms: 'upkeep',
      cmms_work_order_id: 'WoMill0001',
      title: 'Machine down: Mill 01 (Spindle fault)',
    },
  } satisfies DeepomaticWorkOrderChangedData,
};

export const workOrderDeleted: FlowEvent = {
  id: deletedEventId(WORK_ORDER.id),
  type: DEEPOMATIC_WORK_ORDER_DELETED,
  source: DEEPOMATIC_POLL_EVENT_SOURCE,
  occurredAt: '2026-03-02T10:00:00.000Z',
  subject: WORK_ORDER.id,
  data: { ...WORK_ORDER } satisfies DeepomaticWorkOrderDeletedData,
};

export const deepomaticExamples = {
  'work-order-validated': workOrderValidated,
  'work-order-deleted': workOrderDeleted,
} as const satisfies Record<string, FlowEvent>;
