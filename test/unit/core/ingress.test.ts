import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WebhookError } from '../../../functions/core/errors.ts';
import type { WebhookReceiver, WebhookRequest } from '../../../functions/core/flow.ts';
import { DELIVERY_GRACE_SECONDS, fromApiGateway, handleWebhook } from '../../../functions/runtime/ingress.ts';
import { flowEvent, recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

let parsed = 0;
const receiver: WebhookReceiver = {
  vendor: 'upkeep',
  events: {},
  route: 'POST /webhooks/test/{token}',
  async verify(req) {
    if (req.pathParameters.token !== 'right-token') throw new WebhookError(401, 'invalid webhook token');
  },
  parse(req) {
    parsed++;
    let body: { event?: string; id?: string };
    try {
      body = JSON.parse(req.rawBody);
    } catch {
      throw new WebhookError(400, 'body is not valid JSON');
    }
    if (body.event === 'UNKNOWN') return { events: [], ignored: ['UNKNOWN'] };
    return { events: [flowEvent({ id: `e-${body.id}`, type: 'test.created' })], ignored: [] };
  },
};

const request = (token: string, rawBody: string): WebhookRequest => ({
  rawBody,
  headers: {},
  pathParameters: { token },
  query: {},
  receivedAt: new Date(),
});

function setup(options: { failQueue?: boolean } = {}) {
  const queue = recordingQueue({ fail: options.failQueue });
  const opts = {
    receivers: [receiver],
    routing: { 'test.created': ['queue-a', 'queue-b'] },
    env: testEnv(t.store()),
    queue,
    maxBytes: 1024,
  };
  return { queue, call: (req: WebhookRequest) => handleWebhook(opts, receiver.route, req) };
}

describe('webhook ingress', () => {
  it('enqueues a verified event to every subscribed flow queue and answers 202', async () => {
    const { queue, call } = setup();
    const res = await call(request('right-token', '{"id":"1"}'));
    expect(res.statusCode).toBe(202);
    expect(queue.sent.map((s) => s.queueUrl)).toEqual(['queue-a', 'queue-b']);
  });

  it('answers 401 to a bad token before parsing, and enqueues nothing', async () => {
    const { queue, call } = setup();
    parsed = 0;
    const res = await call(request('wrong-token', 'not json at all'));
    expect(res.statusCode).toBe(401);
    expect(parsed).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it('answers 400 to malformed JSON and enqueues nothing', async () => {
    const { queue, call } = setup();
    const res = await call(request('right-token', '{"id":'));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toContain('not valid JSON');
    expect(queue.sent).toEqual([]);
  });

  it('answers 413 to an oversized body before verifying, and enqueues nothing', async () => {
    const { queue, call } = setup();
    const res = await call(request('wrong-token', `{"id":"${'x'.repeat(2000)}"}`));
    expect(res.statusCode).toBe(413);
    expect(queue.sent).toEqual([]);
  });

  it('acknowledges unknown events without enqueueing them', async () => {
    const { queue, call } = setup();
    const res = await call(request('right-token', '{"event":"UNKNOWN"}'));
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body).ignored).toEqual(['UNKNOWN']);
    expect(queue.sent).toEqual([]);
  });

  it('answers 503 (so the vendor retries) when the queue cannot take the event', async () => {
    const { call } = setup({ failQueue: true });
    const res = await call(request('right-token', '{"id":"1"}'));
    expect(res.statusCode).toBe(503);
  });

  it('answers 404 for a route no receiver owns', async () => {
    const { queue } = setup();
    const res = await handleWebhook(
      { receivers: [receiver], routing: {}, env: testEnv(t.store()), queue, maxBytes: 1024 },
      'POST /nope',
      request('x', '{}'),
    );
    expect(res.statusCode).toBe(404);
  });

  it('decodes base64 bodies from API Gateway and lower-cases header names', () => {
    const req = fromApiGateway({
      body: Buffer.from('{"a":1}').toString('base64'),
      isBase64Encoded: true,
      headers: { 'X-Signature': 'abc' },
      pathParameters: { token: 't' },
    });
    expect(req.rawBody).toBe('{"a":1}');
    expect(req.headers['x-signature']).toBe('abc');
  });
});

describe('webhook ingress: vendor acknowledgement and redelivery', () => {
  const dedupeReceiver: WebhookReceiver = {
    ...receiver,
    route: 'POST /webhooks/dedupe/{token}',
    ackStatus: 200,
    dedupeSeconds: 3600,
  };
  const call = (queue: ReturnType<typeof recordingQueue>, rawBody: string) =>
    handleWebhook(
      {
        receivers: [dedupeReceiver],
        routing: { 'test.created': ['queue-a'] },
        env: testEnv(t.store()),
        queue,
        maxBytes: 1024,
      },
      dedupeReceiver.route,
      request('right-token', rawBody),
    );

  it('answers with the receiver ackStatus (Mobility Work accepts only 200)', async () => {
    const res = await call(recordingQueue(), '{"id":"ack-1"}');
    expect(res.statusCode).toBe(200);
  });

  it('acknowledges a redelivery of the same event id without enqueueing it again', async () => {
    const queue = recordingQueue();
    expect((await call(queue, '{"id":"again-1"}')).statusCode).toBe(200);
    const second = await call(queue, '{"id":"again-1"}');
    expect(second.statusCode).toBe(200);
    expect(JSON.parse(second.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(queue.sent).toHaveLength(1);
  });

  /** A delivery at `at`, its mark written with that time too. */
  const callAt = (queue: ReturnType<typeof recordingQueue>, rawBody: string, at: Date) =>
    handleWebhook(
      {
        receivers: [dedupeReceiver],
        routing: { 'test.created': ['queue-a'] },
        env: testEnv(
          t.store(() => at),
          { now: () => at },
        ),
        queue,
        maxBytes: 1024,
      },
      dedupeReceiver.route,
      request('right-token', rawBody),
    );

  it('enqueues again a redelivery whose mark is older than the grace and that no worker recorded (a crash between mark and send)', async () => {
    const first = new Date('2026-11-02T09:00:00.000Z');
    const later = new Date(first.getTime() + (DELIVERY_GRACE_SECONDS + 1) * 1000);
    const queue = recordingQueue();
    await callAt(queue, '{"id":"crashed-1"}', first);
    const again = await callAt(queue, '{"id":"crashed-1"}', later);
    expect(JSON.parse(again.body)).toMatchObject({ enqueued: 1, duplicates: 0 });
    expect(queue.sent.map((s) => s.event.id)).toEqual(['e-crashed-1', 'e-crashed-1']);
  });

  it('answers a redelivery within the grace, or one a worker has recorded, without enqueueing it', async () => {
    const first = new Date('2026-11-02T09:00:00.000Z');
    const soon = new Date(first.getTime() + (DELIVERY_GRACE_SECONDS - 1) * 1000);
    const later = new Date(first.getTime() + (DELIVERY_GRACE_SECONDS + 1) * 1000);
    const queue = recordingQueue();
    await callAt(queue, '{"id":"recorded-1"}', first);
    expect(JSON.parse((await callAt(queue, '{"id":"recorded-1"}', soon)).body)).toMatchObject({
      enqueued: 0,
    });
    await t.store().appendRun({
      flowId: 'f',
      eventId: 'e-recorded-1',
      eventType: 'test.created',
      outcome: 'done',
      message: 'ok',
      at: soon.toISOString(),
    });
    expect(JSON.parse((await callAt(queue, '{"id":"recorded-1"}', later)).body)).toMatchObject({
      enqueued: 0,
    });
    expect(queue.sent).toHaveLength(1);
  });

  it('does not mark an event delivered when enqueueing failed, so the retry goes through', async () => {
    expect((await call(recordingQueue({ fail: true }), '{"id":"retry-1"}')).statusCode).toBe(503);
    const queue = recordingQueue();
    expect((await call(queue, '{"id":"retry-1"}')).statusCode).toBe(200);
    expect(queue.sent.map((s) => s.event.id)).toEqual(['e-retry-1']);
  });
});
