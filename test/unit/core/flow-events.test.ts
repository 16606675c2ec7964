/**
 * The typed event catalogue and a flow's handlers per event type (core/events.ts, core/flow.ts):
 * the runtime parses an event's data once with its type's schema, a type without a handler is a
 * skip, routing comes from the handlers, and a handler no trigger can feed is refused.
 */
import { describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { defineEvents, InvalidEventError } from '../../../functions/core/events.ts';
import {
  type AnyFlow,
  defineFlow,
  type PollSource,
  type WebhookReceiver,
  webhookEventsOf,
} from '../../../functions/core/flow.ts';
import { silentLog } from '../../../functions/core/log.ts';
import { flowEvent } from '../../support/factories.ts';

const events = defineEvents('acme', {
  'asset.failed': {
    schema: z.object({ assetId: z.string(), severity: z._default(z.number(), 1) }),
    description: 'An asset failed',
  },
  'asset.repaired': { schema: z.object({ assetId: z.string() }), description: 'An asset was repaired' },
});
const polled = defineEvents('acme', {
  'parts.changed': { schema: z.object({ count: z.number() }), description: 'Parts changed' },
});

const receiver: WebhookReceiver<typeof events> = {
  vendor: 'acme',
  route: 'POST /webhooks/acme',
  events,
  async verify() {},
  parse: () => ({ events: [], ignored: [] }),
};
const source: PollSource<unknown, unknown, unknown, typeof polled> = {
  id: 'acme.parts',
  vendor: 'acme',
  events: polled,
  stateSchema: z.unknown(),
  connect: () => undefined,
  async *poll() {},
};

const seen: unknown[] = [];
const flow = defineFlow({
  id: 'acme-test-flow',
  description: 'test',
  vendors: [],
  config: z.object({}),
  triggers: [
    { kind: 'webhook', receiver },
    { kind: 'schedule', source, everyMinutes: () => 5, options: () => ({}) },
  ],
  setup: () => ({ tag: 'deps' }),
  on: {
    // `event.data` is typed by the schema: `severity` is a number (its default applied).
    'acme.asset.failed': async (event, ctx) => {
      seen.push(event.data);
      return {
        outcome: 'done',
        message: `${event.data.assetId} severity ${event.data.severity + 0} ${ctx.deps.tag}`,
      };
    },
    'acme.parts.changed': async (event) => ({ outcome: 'done', message: `${event.data.count} parts` }),
  },
});
const ctx = {
  flowId: flow.id,
  config: {},
  deps: { tag: 'deps' },
  state: {} as never,
  log: silentLog,
  now: () => new Date(),
};

describe('event catalogue', () => {
  it('names each event type after its connector', () => {
    expect(Object.keys(events)).toEqual(['acme.asset.failed', 'acme.asset.repaired']);
  });
});

describe('a flow with a handler per event type', () => {
  it('hands the handler the data parsed by its type’s schema (defaults applied, unknown keys gone)', async () => {
    seen.length = 0;
    const result = await flow.handle(
      flowEvent({ type: 'acme.asset.failed', data: { assetId: 'A-7', extra: 'dropped' } }),
      ctx,
    );
    expect(result).toEqual({ outcome: 'done', message: 'A-7 severity 1 deps' });
    expect(seen).toEqual([{ assetId: 'A-7', severity: 1 }]);
  });

  it('refuses data that does not match, naming the field, without calling the handler', async () => {
    seen.length = 0;
    const handled = flow.handle(flowEvent({ type: 'acme.asset.failed', data: { assetId: 7 } }), ctx);
    await expect(handled).rejects.toThrow(InvalidEventError);
    await expect(handled).rejects.toThrow(
      'event acme.asset.failed: invalid data at assetId: expected string',
    );
    expect(seen).toEqual([]);
  });

  it('skips an event type it has no handler for, saying so', async () => {
    await expect(
      flow.handle(flowEvent({ type: 'acme.asset.repaired', data: { assetId: 'A-7' } }), ctx),
    ).resolves.toEqual({
      outcome: 'skipped',
      message: 'event type acme.asset.repaired is not handled by this flow',
    });
    await expect(flow.handle(flowEvent({ type: 'other.thing' }), ctx)).resolves.toMatchObject({
      outcome: 'skipped',
    });
  });

  it('routes only the webhook event types it handles to its queue (poll events are its own)', () => {
    expect(flow.handles).toEqual(['acme.asset.failed', 'acme.parts.changed']);
    expect(webhookEventsOf(flow)).toEqual(['acme.asset.failed']);
  });

  it('refuses a handler for an event type no trigger emits (a type error; at import without types)', () => {
    const define = () =>
      defineFlow({
        id: 'acme-bad-flow',
        description: 'test',
        vendors: [],
        config: z.object({}),
        triggers: [{ kind: 'webhook', receiver }],
        setup: () => undefined,
        on: {
          // @ts-expect-error acme.parts.changed comes from the poll source, which this flow does not use
          'acme.parts.changed': async () => ({ outcome: 'done', message: '' }),
        },
      }) as AnyFlow;
    expect(define).toThrow('flow acme-bad-flow: no trigger emits acme.parts.changed');
  });
});
