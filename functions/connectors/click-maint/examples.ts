/**
 * Example Click Maint event (`millwright test-event <flow> --example NAME`): a parts poll event as
 * parts-poll-source.ts emits it, for the sandbox's seeded entity 1: the V-Belt B52 (part 102) below
 * its minimum, with the Air Filter (101) beside it.
 */
import type { FlowEvent } from '../../core/flow.ts';
import {
  CLICK_MAINT_PARTS_CHANGED,
  CLICK_MAINT_POLL_EVENT_SOURCE,
  type ClickMaintPartsChangedData,
  partsEventId,
} from './parts-poll-source.ts';

const ENTITY_ID = 1;
const parts: ClickMaintPartsChangedData['parts'] = [
  {
    id: 101,
    name: 'Air Filter',
    number: 'FL_A',
    onHandQty: 6,
    minQty: 5,
    available: 5,
    isNonStock: false,
    updatedAt: '2026-03-02T08:00:00Z',
  },
  {
    id: 102,
    name: 'V-Belt B52',
    number: 'B52',
    onHandQty: 2,
    minQty: 3,
    available: 2,
    isNonStock: false,
    updatedAt: '2026-03-02T08:05:00Z',
  },
];

export const partsChanged: FlowEvent = {
  id: partsEventId(ENTITY_ID, parts),
  type: CLICK_MAINT_PARTS_CHANGED,
  source: CLICK_MAINT_POLL_EVENT_SOURCE,
  occurredAt: '2026-03-02T08:05:00.000Z',
  subject: `entity:${ENTITY_ID}`,
  data: {
    entityId: ENTITY_ID,
    parts,
    readAtMs: Date.parse('2026-03-02T08:06:00.000Z'),
  } satisfies ClickMaintPartsChangedData,
};

export const clickMaintExamples = {
  'parts-changed': partsChanged,
} as const satisfies Record<string, FlowEvent>;
