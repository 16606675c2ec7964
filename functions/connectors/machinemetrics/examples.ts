/**
 * Example downtime events (`millwright test-event <flow> --example NAME`), as the poller emits them
 * (detector.ts: ids and episode key from the machine and the detection window). The machine is
 * Mill 01 of the sandbox (sandbox/control.ts MACHINES.one), mapped to UpKeep asset AssetMill01 and
 * Mobility Work equipment EQ-MILL-01 in config/default.json; `downtime-started-lathe` is Lathe 02
 * (MACHINES.two), the machine the Click Maint flow maps.
 */
import type { FlowEvent } from '../../core/flow.ts';
import {
  categorizedEventId,
  endedEventId,
  episodeKeyFor,
  POLL_EVENT_SOURCE,
  startedEventId,
} from './detector.ts';
import { DOWNTIME_CATEGORIZED, DOWNTIME_ENDED, DOWNTIME_STARTED } from './events.ts';

const MILL = { id: '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c', name: 'Mill 01' };
const LATHE = { id: '5faa6680-fa0f-4e37-ba0b-09a46a945cef', name: 'Lathe 02' };
const STARTED_AT = '2026-03-02T06:25:00.000Z';
const DETECTED_AT = '2026-03-02T06:40:00.000Z';

function started(machine: { id: string; name: string }): FlowEvent {
  const episodeKey = episodeKeyFor(machine.id, new Date(DETECTED_AT));
  return {
    id: startedEventId(episodeKey),
    type: DOWNTIME_STARTED,
    source: POLL_EVENT_SOURCE,
    occurredAt: DETECTED_AT,
    subject: machine.id,
    data: {
      machineId: machine.id,
      machineName: machine.name,
      episodeKey,
      startedAt: STARTED_AT,
      detectedAt: DETECTED_AT,
      reasonId: 'uncategorized',
      reasonName: 'Uncategorized',
      downtimeMs: 15 * 60_000,
    },
  };
}

const MILL_EPISODE = episodeKeyFor(MILL.id, new Date(DETECTED_AT));

export const downtimeStarted = started(MILL);
export const downtimeStartedLathe = started(LATHE);

export const downtimeCategorized: FlowEvent = {
  id: categorizedEventId(MILL_EPISODE, '33'),
  type: DOWNTIME_CATEGORIZED,
  source: POLL_EVENT_SOURCE,
  occurredAt: '2026-03-02T06:50:00.000Z',
  subject: MILL.id,
  data: {
    machineId: MILL.id,
    machineName: MILL.name,
    episodeKey: MILL_EPISODE,
    reasonId: '33',
    reasonName: 'Spindle fault',
    categorizedAt: '2026-03-02T06:50:00.000Z',
  },
};

export const downtimeEnded: FlowEvent = {
  id: endedEventId(MILL_EPISODE),
  type: DOWNTIME_ENDED,
  source: POLL_EVENT_SOURCE,
  occurredAt: '2026-03-02T07:10:00.000Z',
  subject: MILL.id,
  data: {
    machineId: MILL.id,
    machineName: MILL.name,
    episodeKey: MILL_EPISODE,
    startedAt: STARTED_AT,
    endedAt: '2026-03-02T07:05:00.000Z',
    downtimeMs: 40 * 60_000,
  },
};

export const machineMetricsExamples = {
  'downtime-started': downtimeStarted,
  'downtime-started-lathe': downtimeStartedLathe,
  'downtime-categorized': downtimeCategorized,
  'downtime-ended': downtimeEnded,
} as const satisfies Record<string, FlowEvent>;
