/** Factories for events, environments and queues used across tests. */
import type { FlowEvent, RuntimeEnv } from '../../functions/core/flow.ts';
import { memoryLog } from '../../functions/core/log.ts';
import { staticSecretSource } from '../../functions/core/secrets.ts';
import type { StateStore } from '../../functions/core/state.ts';
import type { EventQueue } from '../../functions/runtime/queue.ts';

export function recordingQueue(
  options: { fail?: boolean } = {},
): EventQueue & { sent: { queueUrl: string; event: FlowEvent }[] } {
  const sent: { queueUrl: string; event: FlowEvent }[] = [];
  return {
    sent,
    async send(queueUrl, events) {
      if (options.fail) throw new Error('queue unavailable');
      for (const event of events) sent.push({ queueUrl, event });
    },
  };
}

export function testEnv(
  state: StateStore,
  overrides: Partial<RuntimeEnv> = {},
): RuntimeEnv & { log: ReturnType<typeof memoryLog> } {
  return {
    vendors: {},
    secrets: staticSecretSource({}),
    state,
    log: memoryLog(),
    now: () => new Date('2026-11-02T09:00:00.000Z'),
    ...overrides,
  } as RuntimeEnv & { log: ReturnType<typeof memoryLog> };
}

export function flowEvent(overrides: Partial<FlowEvent> = {}): FlowEvent {
  return {
    id: 'evt-1',
    type: 'test.event',
    source: 'test',
    occurredAt: '2026-11-02T09:00:00.000Z',
    data: {},
    ...overrides,
  };
}
