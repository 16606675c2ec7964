/**
 * Example UpKeep events (`millwright test-event <flow> --example NAME`): webhooks as the receiver
 * normalises them (webhook.ts: the object is re-read by id, so the id must exist where the event is
 * run) and a parts poll event (parts-poll-source.ts) of the sandbox's seeded parts (sandbox/control.ts
 * PARTS), the belt at its minimum.
 */
import type { FlowEvent } from '../../core/flow.ts';
import { partsEventId, UPKEEP_POLL_EVENT_SOURCE, type UpKeepPartsChangedData } from './parts-poll-source.ts';
import { UPKEEP_WEBHOOK_SOURCE, type UpKeepWebhookData, type UpKeepWebhookEvent } from './webhook.ts';

/** A work order id, 10 characters like the doc's `fjQXLsOvG7`. */
const WORK_ORDER_ID = 'WoMill0001';
const UPDATED_AT = '2026-03-02T07:15:00.000Z';

function webhook(event: UpKeepWebhookEvent, objectId: string): FlowEvent {
  const data: UpKeepWebhookData = { event, objectId, objectType: 'workOrder' };
  return {
    id: `upkeep:${event}:${objectId}:${UPDATED_AT}`,
    type: `upkeep.${event}`,
    source: UPKEEP_WEBHOOK_SOURCE,
    occurredAt: UPDATED_AT,
    subject: objectId,
    data,
  };
}

export const workOrderCreated = webhook('WORK_ORDER_CREATED', WORK_ORDER_ID);
export const workOrderUpdated = webhook('WORK_ORDER_UPDATED', WORK_ORDER_ID);
export const workOrderStatusUpdated = webhook('WORK_ORDER_STATUS_UPDATED', WORK_ORDER_ID);

const parts: UpKeepPartsChangedData['parts'] = [
  {
    id: 'PartBeltA42',
    name: 'Classic V-belt A42',
    quantity: 2,
    minimumQuantity: 2,
    updatedAtMs: Date.parse('2026-03-02T08:00:00.000Z'),
    partNumber: 'A42',
  },
];

export const partsChanged: FlowEvent = {
  id: partsEventId(parts),
  type: 'upkeep.parts.changed',
  source: UPKEEP_POLL_EVENT_SOURCE,
  occurredAt: '2026-03-02T08:00:00.000Z',
  subject: 'parts',
  data: { parts, readAtMs: Date.parse('2026-03-02T08:01:00.000Z') } satisfies UpKeepPartsChangedData,
};

export const upkeepExamples = {
  'work-order-created': workOrderCreated,
  'work-order-updated': workOrderUpdated,
  'work-order-status-updated': workOrderStatusUpdated,
  'parts-changed': partsChanged,
} as const satisfies Record<string, FlowEvent>;
