/**
 * The ingress's limits on the path the Lambda runs (API Gateway event -> handleWebhook), and the
 * queue's size-aware batching against the local SQS, which enforces AWS's limits.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { upkeepWebhook } from '../../../functions/connectors/upkeep/webhook.ts';
import { type FlowEvent, flowEventSchema, type WebhookReceiver } from '../../../functions/core/flow.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import { fromApiGateway, handleWebhook } from '../../../functions/runtime/ingress.ts';
import { sqsQueue } from '../../../functions/runtime/queue.ts';
import { type FlowQueues, type LocalSqs, queueDepth, startLocalSqs } from '../../../sandbox/sqs.ts';
import { flowEvent, recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
let sqs: LocalSqs;
let queues: FlowQueues;
beforeAll(async () => {
  t = await startTestState();
  sqs = await startLocalSqs();
  queues = await sqs.createQueue('ingress-limits', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
});
afterAll(async () => {
  await t?.close();
  await sqs?.close();
});

const TOKEN = 'tok-0123456789abcdef0123456789abcdef';
const upkeepEnv = () =>
  testEnv(t.store(), {
    vendors: { upkeep: { secretName: 'millwright/upkeep' } },
    secrets: staticSecretSource({
      'millwright/upkeep': { email: 'a@plant.example', password: 'pw-123456', webhookToken: TOKEN },
    }),
  });

/** An API Gateway (HTTP API v2) event for the UpKeep route, as the Lambda receives it. */
const gatewayEvent = (body: string) =>
  fromApiGateway({
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    headers: { 'Content-Type': 'application/json' },
    pathParameters: { token: TOKEN },
  });

describe('ingress limits on the Lambda path', () => {
  it('hostile input: a JSON bomb behind a valid UpKeep token gets 400 on the Lambda path, before any JSON.parse, and nothing is enqueued', async () => {
    const queue = recordingQueue();
    const depth = 100_000;
    const body = `{"event":"WORK_ORDER_CREATED","data":{"id":"wo-1","x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const res = await handleWebhook(
      {
        receivers: [upkeepWebhook],
        routing: { 'upkeep.WORK_ORDER_CREATED': ['q'] },
        env: upkeepEnv(),
        queue,
        maxBytes: 262_144,
      },
      upkeepWebhook.route,
      gatewayEvent(body),
    );
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toBe('body nests deeper than 64 levels');
    expect(queue.sent).toEqual([]);
  });

  it('engine limits: a small body whose event would not fit one SQS message is refused with 413 and nothing is enqueued', async () => {
    // A receiver that enriches its events: the body is small, the queued event is not.
    const enriching: WebhookReceiver = {
      vendor: 'upkeep',
      events: {},
      route: 'POST /webhooks/enriching',
      async verify() {},
      parse: () => ({
        events: [flowEvent({ id: 'big-1', type: 'test.big', data: { blob: 'b'.repeat(270_000) } })],
        ignored: [],
      }),
    };
    const queue = recordingQueue();
    const res = await handleWebhook(
      {
        receivers: [enriching],
        routing: { 'test.big': ['q'] },
        env: testEnv(t.store()),
        queue,
        maxBytes: 1024,
      },
      enriching.route,
      { rawBody: '{}', headers: {}, pathParameters: {}, query: {}, receivedAt: new Date() },
    );
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body).message).toMatch(
      /^event test\.big would be a \d+-byte queue message; the limit is 262144$/,
    );
    expect(queue.sent).toEqual([]);
  });

  it('engine limits: a parsed event id over 700 bytes is refused with 400 naming the field', async () => {
    const longId: WebhookReceiver = {
      vendor: 'upkeep',
      events: {},
      route: 'POST /webhooks/long-id',
      async verify() {},
      parse: () => ({ events: [flowEvent({ id: 'i'.repeat(701), type: 'test.long' })], ignored: [] }),
    };
    const queue = recordingQueue();
    const res = await handleWebhook(
      {
        receivers: [longId],
        routing: { 'test.long': ['q'] },
        env: testEnv(t.store()),
        queue,
        maxBytes: 1024,
      },
      longId.route,
      { rawBody: '{}', headers: {}, pathParameters: {}, query: {}, receivedAt: new Date() },
    );
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toBe('event id is 701 bytes; the limit is 700');
    expect(queue.sent).toEqual([]);
  });
});

describe('flow event bounds', () => {
  it('the queue event schema refuses identifiers that would not fit a DynamoDB key', () => {
    const ok = flowEvent({ id: 'é'.repeat(350), subject: 's'.repeat(700) });
    expect(flowEventSchema.safeParse(ok).success).toBe(true);
    expect(flowEventSchema.safeParse({ ...ok, id: 'é'.repeat(351) }).success).toBe(false);
    expect(flowEventSchema.safeParse({ ...ok, subject: 's'.repeat(701) }).success).toBe(false);
    expect(flowEventSchema.safeParse({ ...ok, type: 't'.repeat(129) }).success).toBe(false);
  });
});

describe('sqsQueue batching', () => {
  it('cuts batches by size as well as count, so SQS never refuses a batch of events that each fit', async () => {
    const events: FlowEvent[] = Array.from({ length: 10 }, (_, i) =>
      flowEvent({ id: `big-${i}`, data: { blob: 'b'.repeat(100_000) } }),
    );
    await sqsQueue(sqs.client).send(queues.queueUrl, events);
    expect((await queueDepth(sqs.client, queues.queueUrl)).visible).toBe(10);
  });

  it('refuses an event that cannot fit one message without sending anything (not retryable)', async () => {
    const error = await sqsQueue(sqs.client)
      .send(queues.queueUrl, [flowEvent({ id: 'huge', data: { blob: 'b'.repeat(263_000) } })])
      .catch((e: unknown) => e as Error & { retryable?: boolean });
    expect(error?.name).toBe('MessageTooLargeError');
    expect(error?.retryable).toBe(false);
  });
});
