import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  fetchWebhookSubject,
  UPKEEP_WEBHOOK_EVENTS,
  type UpKeepWebhookData,
  upkeepWebhook,
  upkeepWebhookDataSchema,
} from '../../../functions/connectors/upkeep/webhook.ts';
import { WebhookError } from '../../../functions/core/errors.ts';
import type { WebhookRequest } from '../../../functions/core/flow.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { WebhookNotConfiguredError } from '../../../functions/core/webhook-secret.ts';
import { UPKEEP_WORK_ORDER_ECHO } from '../../../functions/flows/shared/echo.ts';
import { handleWebhook } from '../../../functions/runtime/ingress.ts';
import { recordingQueue } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import {
  callsTo,
  type Harness,
  makeEnv,
  mutableSecrets,
  SECRET_NAME,
  startHarness,
  upkeepSecret,
  WEBHOOK_TOKEN,
} from './support.ts';

const RECEIVED_AT = new Date('2026-11-02T08:30:00.000Z');

function request(
  body: unknown,
  options: { token?: string; query?: Record<string, string>; raw?: string } = {},
) {
  const req: WebhookRequest = {
    rawBody: options.raw ?? JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    pathParameters:
      options.token === undefined ? { token: WEBHOOK_TOKEN } : options.token ? { token: options.token } : {},
    query: options.query ?? {},
    receivedAt: RECEIVED_AT,
  };
  return req;
}

async function statusOf(promise: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof WebhookError) return error.statusCode;
    throw error;
  }
}

function parseStatus(req: WebhookRequest): number | 'ok' {
  try {
    upkeepWebhook.parse(req);
    return 'ok';
  } catch (error) {
    if (error instanceof WebhookError) return error.statusCode;
    throw error;
  }
}

const workOrderBody = {
  event: 'WORK_ORDER_STATUS_UPDATED',
  data: { id: 'Wo12345678', title: 'Mill down', status: 'complete', updatedAt: '2026-11-02T08:29:59.123Z' },
};

describe('upkeepWebhook.verify', () => {
  const { env } = makeEnv();

  it('accepts the token configured in the secret', async () => {
    await expect(upkeepWebhook.verify(request(workOrderBody), { env })).resolves.toBeUndefined();
  });

  it('rejects a wrong token with 401 without looking at the body', async () => {
    const wrong = `${WEBHOOK_TOKEN.slice(0, -1)}x`;
    const req = request(undefined, { token: wrong, raw: '{not json' });
    expect(await statusOf(upkeepWebhook.verify(req, { env }))).toBe(401);
    // The same malformed body with the right token passes verify: verify never parses it.
    expect(
      await statusOf(upkeepWebhook.verify({ ...req, pathParameters: { token: WEBHOOK_TOKEN } }, { env })),
    ).toBe('ok');
    expect(parseStatus(req)).toBe(400);
  });

  it('rejects a missing or short token with 401', async () => {
    expect(await statusOf(upkeepWebhook.verify(request(workOrderBody, { token: '' }), { env }))).toBe(401);
    expect(
      await statusOf(
        upkeepWebhook.verify(request(workOrderBody, { token: WEBHOOK_TOKEN.slice(0, 8) }), { env }),
      ),
    ).toBe(401);
  });

  it('rejects every request with a clear 401 when no webhook token is configured', async () => {
    const secrets = mutableSecrets({ [SECRET_NAME]: upkeepSecret({ webhookToken: undefined }) });
    const { env: noToken } = makeEnv({ secrets: secrets.source });
    const error = await upkeepWebhook
      .verify(request(workOrderBody), { env: noToken })
      .catch((e: unknown) => e);
    // Not a WebhookError: the ingress logs secret and field and tells the sender less (webhook-secret.ts).
    expect(error).toBeInstanceOf(WebhookNotConfiguredError);
    expect((error as WebhookNotConfiguredError).statusCode).toBe(401);
    expect((error as Error).message).toContain(`secret ${SECRET_NAME} has no webhookToken`);
  });

  it('never puts the expected or the given token in its error', async () => {
    const given = 'g'.repeat(40);
    const error = (await upkeepWebhook
      .verify(request(workOrderBody, { token: given }), { env })
      .catch((e) => e)) as Error;
    expect(error.message).not.toContain(WEBHOOK_TOKEN);
    expect(error.message).not.toContain(given);
  });
});

describe('upkeepWebhook.parse', () => {
  it('normalises an {event, data} delivery into a FlowEvent', () => {
    const { events, ignored } = upkeepWebhook.parse(request(workOrderBody));
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      {
        id: 'upkeep:WORK_ORDER_STATUS_UPDATED:Wo12345678:2026-11-02T08:29:59.123Z',
        type: 'upkeep.WORK_ORDER_STATUS_UPDATED',
        source: 'upkeep.webhook',
        subject: 'Wo12345678',
        occurredAt: '2026-11-02T08:29:59.123Z',
        data: {
          event: 'WORK_ORDER_STATUS_UPDATED',
          objectId: 'Wo12345678',
          objectType: 'workOrder',
          updatedAt: '2026-11-02T08:29:59.123Z',
        },
      },
    ]);
  });

  it('takes the event from ?event= when the body is the bare record', () => {
    const body = { id: 'Wo12345678', title: 'Mill down', status: 'open' };
    const req = request(body, { query: { event: 'WORK_ORDER_UPDATED' } });
    const [event] = upkeepWebhook.parse(req).events;
    expect(event?.type).toBe('upkeep.WORK_ORDER_UPDATED');
    expect(event?.subject).toBe('Wo12345678');
    // No updatedAt: the receipt time, and a body hash in the id.
    expect(event?.occurredAt).toBe(RECEIVED_AT.toISOString());
    const hash = createHash('sha256').update(req.rawBody).digest('hex').slice(0, 16);
    expect(event?.id).toBe(`upkeep:WORK_ORDER_UPDATED:Wo12345678:${hash}`);
  });

  it('reads the other event and id spellings', () => {
    const a = upkeepWebhook.parse(
      request({ eventType: 'PURCHASE_ORDER_APPROVED', object: { id: 'Po00000001' } }),
    );
    const b = upkeepWebhook.parse(request({ webhookEvent: 'REQUEST_CREATED', objectId: 'Rq00000001' }));
    const c = upkeepWebhook.parse(request({ type: 'PM_WORK_ORDER_CREATED', result: { id: 'Pm00000001' } }));
    expect(
      [a, b, c].map((r) => [r.events[0]?.type, r.events[0]?.subject, r.events[0]?.data.objectType]),
    ).toEqual([
      ['upkeep.PURCHASE_ORDER_APPROVED', 'Po00000001', 'purchaseOrder'],
      ['upkeep.REQUEST_CREATED', 'Rq00000001', 'request'],
      ['upkeep.PM_WORK_ORDER_CREATED', 'Pm00000001', 'pmWorkOrder'],
    ]);
  });

  it('maps schedule events to workOrderSchedule, not workOrder', () => {
    const { events } = upkeepWebhook.parse(
      request({ event: 'WORK_ORDER_SCHEDULE_STATUS_UPDATED', id: 'S1' }),
    );
    expect(events[0]?.data.objectType).toBe('workOrderSchedule');
  });

  it('prefers a documented event name over an unrelated `type` field of a bare record', () => {
    const req = request({ id: 'Wo12345678', type: 'Electrical' }, { query: { event: 'WORK_ORDER_CREATED' } });
    expect(upkeepWebhook.parse(req).events[0]?.type).toBe('upkeep.WORK_ORDER_CREATED');
  });

  it('gives the same event id to a redelivery of the same body', () => {
    const first = upkeepWebhook.parse(request(workOrderBody)).events[0];
    const again = upkeepWebhook.parse({
      ...request(workOrderBody),
      receivedAt: new Date('2026-11-02T09:00:00Z'),
    }).events[0];
    expect(again?.id).toBe(first?.id);
    const bare = { id: 'Wo12345678', title: 'x' };
    const q = { query: { event: 'WORK_ORDER_DELETED' } };
    expect(upkeepWebhook.parse(request(bare, q)).events[0]?.id).toBe(
      upkeepWebhook.parse(request(bare, q)).events[0]?.id,
    );
  });

  it('gives a new event id when the object changed again', () => {
    const later = {
      ...workOrderBody,
      data: { ...workOrderBody.data, updatedAt: '2026-11-02T08:45:00.000Z' },
    };
    expect(upkeepWebhook.parse(request(later)).events[0]?.id).not.toBe(
      upkeepWebhook.parse(request(workOrderBody)).events[0]?.id,
    );
  });

  it('answers 400 to malformed JSON and to a body that is not an object', () => {
    expect(parseStatus(request(undefined, { raw: '{"event": "WORK_ORDER_CREATED",' }))).toBe(400);
    expect(parseStatus(request([1, 2]))).toBe(400);
  });

  it('answers 400 naming what is missing: the object id, or the event name', () => {
    expect(() => upkeepWebhook.parse(request({ event: 'WORK_ORDER_CREATED', data: { title: 'x' } }))).toThrow(
      /object id/,
    );
    expect(() => upkeepWebhook.parse(request({ data: { id: 'Wo12345678' } }))).toThrow(/event name/);
    expect(parseStatus(request({ event: 'WORK_ORDER_CREATED' }))).toBe(400);
  });

  it('ignores event names outside the documented 20', () => {
    expect(UPKEEP_WEBHOOK_EVENTS).toHaveLength(20);
    expect(upkeepWebhook.parse(request({ event: 'PART_UPDATED', data: { id: 'P1' } }))).toEqual({
      events: [],
      ignored: ['PART_UPDATED'],
    });
  });
});

describe('upkeepWebhook through the ingress: replays', () => {
  const stateHarness: { t?: TestState } = {};
  beforeAll(async () => {
    stateHarness.t = await startTestState();
  });
  afterAll(() => stateHarness.t?.close());

  const deliver = (queue: ReturnType<typeof recordingQueue>, body: unknown) => {
    const { env } = makeEnv();
    return handleWebhook(
      {
        receivers: [upkeepWebhook],
        routing: {
          'upkeep.WORK_ORDER_STATUS_UPDATED': ['queue-a'],
          'upkeep.WORK_ORDER_UPDATED': ['queue-a'],
          'upkeep.WORK_ORDER_DELETED': ['queue-a'],
        },
        env: { ...env, state: stateHarness.t?.store() as StateStore },
        queue,
        maxBytes: 262_144,
      },
      upkeepWebhook.route,
      request(body),
    );
  };

  it('acknowledges 202 a documented event no flow subscribes to even when its body has no id we can read, and queues nothing', async () => {
    // One UpKeep webhook carries many events: a 4xx here makes UpKeep retry, and may disable the
    // webhook that also carries the work-order events the flows need.
    const queue = recordingQueue();
    const res = await deliver(queue, {
      event: 'PURCHASE_ORDER_APPROVED',
      data: { purchaseOrderNumber: 'PO-7' },
    });
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body).ignored).toEqual(['PURCHASE_ORDER_APPROVED']);
    expect(queue.sent).toEqual([]);
  });

  it('still answers 400 naming the object id when an event a flow subscribes to has none', async () => {
    const queue = recordingQueue();
    const res = await deliver(queue, { event: 'WORK_ORDER_UPDATED', data: { title: 'no id' } });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(/has no object id/);
    expect(queue.sent).toEqual([]);
  });

  it('acknowledges a repeat of a body naming the work order version (updatedAt) without enqueueing it again', async () => {
    const queue = recordingQueue();
    const body = { ...workOrderBody, data: { ...workOrderBody.data, id: 'WoReplay01' } };
    expect((await deliver(queue, body)).statusCode).toBe(202);
    const again = await deliver(queue, body);
    expect(again.statusCode).toBe(202);
    expect(JSON.parse(again.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(queue.sent).toHaveLength(1);
  });

  it('acknowledges the webhook of a work-order version a flow wrote (its echo mark) without enqueueing it', async () => {
    const state = stateHarness.t?.store() as StateStore;
    const updatedAt = '2026-11-02T08:40:00.000Z';
    await state.markOwnWrite(UPKEEP_WORK_ORDER_ECHO, 'WoEcho0001', updatedAt, 'some-flow');
    const queue = recordingQueue();
    const echo = {
      event: 'WORK_ORDER_STATUS_UPDATED',
      data: { id: 'WoEcho0001', status: 'complete', updatedAt },
    };
    const res = await deliver(queue, echo);
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body)).toMatchObject({ enqueued: 0, echoes: 1 });
    expect(queue.sent).toEqual([]);
    // Not marked delivered either: no write for an echo.
    expect(
      await state.deliveryOf('upkeep', `upkeep:WORK_ORDER_STATUS_UPDATED:WoEcho0001:${updatedAt}`),
    ).toBeUndefined();
  });

  it('enqueues a near-echo: a later version of a work order we wrote, or another work order at the same time', async () => {
    const state = stateHarness.t?.store() as StateStore;
    const updatedAt = '2026-11-02T08:41:00.000Z';
    await state.markOwnWrite(UPKEEP_WORK_ORDER_ECHO, 'WoEcho0002', updatedAt, 'some-flow');
    const queue = recordingQueue();
    const later = {
      event: 'WORK_ORDER_UPDATED',
      data: { id: 'WoEcho0002', updatedAt: '2026-11-02T08:41:00.001Z' },
    };
    const other = { event: 'WORK_ORDER_UPDATED', data: { id: 'WoEcho0003', updatedAt } };
    const deleted = { event: 'WORK_ORDER_DELETED', data: { id: 'WoEcho0002', updatedAt } };
    for (const body of [later, other, deleted]) {
      const res = await deliver(queue, body);
      expect(JSON.parse(res.body)).toMatchObject({ enqueued: 1 });
    }
    expect(queue.sent.map((s) => s.event.subject)).toEqual(['WoEcho0002', 'WoEcho0003', 'WoEcho0002']);
  });

  it('enqueues every delivery of a body without a version: two real changes may look the same', async () => {
    const queue = recordingQueue();
    const bare = { event: 'WORK_ORDER_UPDATED', data: { id: 'WoBare0001' } };
    await deliver(queue, bare);
    await deliver(queue, bare);
    expect(queue.sent).toHaveLength(2);
  });
});

describe('fetchWebhookSubject', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.sim.close();
  });

  it('re-reads the work order from the API instead of trusting the body', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Real title', asset: 'AssetMill01' });
    const forged = {
      event: 'WORK_ORDER_UPDATED',
      data: { id: wo.id, title: 'Forged title', status: 'complete' },
    };
    const [event] = upkeepWebhook.parse(request(forged)).events;
    // As a flow's handler gets it: parsed by the event type's schema.
    const subject = await fetchWebhookSubject(client, upkeepWebhookDataSchema.parse(event?.data));
    expect(subject).toMatchObject({ id: wo.id, title: 'Real title', status: 'open' });
  });

  it('returns undefined for a deleted work order and for object types it does not fetch yet', async () => {
    const client = h.client();
    const before = callsTo(h.sim, 'GET /work-orders/Gone000001').length;
    await expect(
      fetchWebhookSubject(client, {
        event: 'WORK_ORDER_DELETED',
        objectId: 'Gone000001',
        objectType: 'workOrder',
      }),
    ).resolves.toBeUndefined();
    expect(callsTo(h.sim, 'GET /work-orders/Gone000001').length).toBe(before + 1);
    const calls = h.sim.calls().length;
    await expect(
      fetchWebhookSubject(client, {
        event: 'PURCHASE_ORDER_APPROVED',
        objectId: 'Po1',
        objectType: 'purchaseOrder',
      }),
    ).resolves.toBeUndefined();
    expect(h.sim.calls().length).toBe(calls);
  });

  it('refuses event data that is not from this receiver', async () => {
    await expect(
      fetchWebhookSubject(
        h.client(),
        { objectId: 'x' } as UpKeepWebhookData /* a cast: what typed callers cannot pass */,
      ),
    ).rejects.toThrow(/not an UpKeep webhook event/);
  });
});

describe('simulator deliveries through the receiver', () => {
  let h: Harness;
  let target: Server;
  const received: WebhookRequest[] = [];

  beforeAll(async () => {
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        received.push({
          rawBody: Buffer.concat(chunks).toString('utf8'),
          headers: {},
          pathParameters: { token: decodeURIComponent(url.pathname.split('/').pop() ?? '') },
          query: Object.fromEntries(url.searchParams),
          receivedAt: RECEIVED_AT,
        });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as AddressInfo;
    h = await startHarness({ webhook: { url: `http://127.0.0.1:${port}/webhooks/upkeep/${WEBHOOK_TOKEN}` } });
  });
  afterAll(async () => {
    await h.sim.close();
    await new Promise((resolve) => target.close(resolve));
  });

  it('verifies and parses what the simulator sends for a create and a status change', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Press 3 leaking' });
    h.clock.advance(1_000);
    await client.updateWorkOrder(wo.id, { status: 'complete' });
    await h.sim.flushWebhooks();
    const { env } = makeEnv();
    const types: string[] = [];
    for (const req of received) {
      await upkeepWebhook.verify(req, { env });
      const { events } = upkeepWebhook.parse(req);
      for (const e of events) {
        expect(e.subject).toBe(wo.id);
        types.push(e.type);
      }
    }
    expect(types.sort()).toEqual(
      ['upkeep.WORK_ORDER_CREATED', 'upkeep.WORK_ORDER_STATUS_UPDATED', 'upkeep.WORK_ORDER_UPDATED'].sort(),
    );
  });
});
