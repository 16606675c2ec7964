/**
 * What a real Mobility Work sender does that the simulator never plays, through the ingress:
 * bytes signed as sent (whitespace, key order, UTF-8), body-size edges, an empty body, a documented
 * event no flow subscribes to.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MW_EVENT } from '../../../functions/connectors/mobility-work/events.ts';
import { signMobilityWorkWebhook } from '../../../functions/connectors/mobility-work/signature.ts';
import {
  MW_WEBHOOK_ROUTE,
  mobilityWorkWebhook,
} from '../../../functions/connectors/mobility-work/webhook.ts';
import type { WebhookRequest } from '../../../functions/core/flow.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { fromApiGateway, handleWebhook } from '../../../functions/runtime/ingress.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { NETWORK_ID, RICH, SECRET_NAME } from './fixtures.ts';

const SECRET = 'whsec_raw_bytes_0123456789';
const RECEIVED_AT = new Date('2026-11-02T09:00:00.000Z');
const NOW_S = RECEIVED_AT.getTime() / 1000;
const LIMIT = 4096;

let testState: TestState;
let store: StateStore;
beforeAll(async () => {
  testState = await startTestState();
  store = testState.store(() => RECEIVED_AT);
});
afterAll(() => testState.close());

const header = (rawBody: string, t = NOW_S, nonce = randomBytes(20).toString('hex')) =>
  signMobilityWorkWebhook({ secret: SECRET, scheme: 't.nonce.body', t, nonce, rawBody });

const signed = (rawBody: string, extra: Record<string, string> = {}): WebhookRequest => ({
  rawBody,
  headers: { 'x-mw-signature': header(rawBody), ...extra },
  pathParameters: {},
  query: {},
  receivedAt: RECEIVED_AT,
});

function ingress(routed: readonly string[] = Object.values(MW_EVENT)) {
  const queue = recordingQueue();
  const env = testEnv(store, {
    vendors: { 'mobility-work': { secretName: SECRET_NAME } },
    secrets: staticSecretSource({ [SECRET_NAME]: { apiKey: 'k', webhookSecrets: [SECRET] } }),
  });
  const options = {
    receivers: [mobilityWorkWebhook],
    routing: Object.fromEntries(routed.map((type) => [type, ['mw-queue']])),
    env,
    queue,
    maxBytes: LIMIT,
  };
  return { queue, env, call: (req: WebhookRequest) => handleWebhook(options, MW_WEBHOOK_ROUTE, req) };
}

const completed = (key: string, extra: Record<string, unknown> = {}) => ({
  ...RICH.TaskWasCompleted,
  _idempotencyKey: key,
  ...extra,
});

describe('Mobility Work signatures over the bytes as sent', () => {
  it('accepts a pretty-printed body with its keys in another order, signed as sent', async () => {
    const payload = completed('pretty-1');
    const reordered = Object.fromEntries(Object.entries(payload).reverse());
    const rawBody = `${JSON.stringify(reordered, null, 4)}\r\n`;
    const { queue, call } = ingress();
    const res = await call(signed(rawBody));
    expect(res.statusCode).toBe(200);
    expect(queue.sent).toHaveLength(1);
    expect(queue.sent[0]?.event.data).toEqual(reordered);
  });

  it('refuses with 401 a signature over the compact re-serialization of the bytes received', async () => {
    const payload = completed('pretty-2');
    const rawBody = JSON.stringify(payload, null, 2);
    const { queue, call } = ingress();
    const req = signed(rawBody, { 'x-mw-signature': header(JSON.stringify(payload)) });
    const res = await call(req);
    expect(res.statusCode).toBe(401);
    expect(queue.sent).toEqual([]);
  });

  it('verifies a UTF-8 body (accents, CJK, emoji), also base64-encoded by API Gateway with a charset', async () => {
    const rawBody = JSON.stringify(completed('utf8-1', { comment: 'Pièce usée – 蒸気 🔧' }));
    const { queue, call } = ingress();
    const req = fromApiGateway({
      body: Buffer.from(rawBody, 'utf8').toString('base64'),
      isBase64Encoded: true,
      headers: {
        'Content-Type': 'application/json; charset=UTF-8',
        'X-MW-Signature': header(rawBody),
      },
    });
    const res = await call({ ...req, receivedAt: RECEIVED_AT });
    expect(res.statusCode).toBe(200);
    expect(queue.sent[0]?.event.data).toMatchObject({ comment: 'Pièce usée – 蒸気 🔧' });
  });

  it('ignores the Content-Type: none, text/plain or form still verifies the raw bytes', async () => {
    for (const [i, type] of [undefined, 'text/plain', 'application/x-www-form-urlencoded'].entries()) {
      const rawBody = JSON.stringify(completed(`ctype-${i}`));
      const { queue, call } = ingress();
      const res = await call(signed(rawBody, type ? { 'content-type': type } : {}));
      expect(res.statusCode).toBe(200);
      expect(queue.sent).toHaveLength(1);
    }
  });
});

describe('Mobility Work body edges', () => {
  /** A signed body of exactly `bytes` UTF-8 bytes, padded with 2-byte characters where it can. */
  const bodyOf = (key: string, bytes: number) => {
    const base = JSON.stringify(completed(key, { comment: '' }));
    const room = bytes - Buffer.byteLength(base);
    const pad = 'é'.repeat(Math.floor(room / 2)) + 'x'.repeat(room % 2);
    const rawBody = JSON.stringify(completed(key, { comment: pad }));
    expect(Buffer.byteLength(rawBody)).toBe(bytes);
    return rawBody;
  };

  it('accepts a body of exactly the limit in bytes (not characters)', async () => {
    const { queue, call } = ingress();
    const res = await call(signed(bodyOf('limit-0', LIMIT)));
    expect(res.statusCode).toBe(200);
    expect(queue.sent).toHaveLength(1);
  });

  it('refuses one byte over the limit with 413 before verifying, and marks nothing', async () => {
    const { queue, call } = ingress();
    const rawBody = bodyOf('limit-1', LIMIT + 1);
    const res = await call(signed(rawBody, { 'x-mw-signature': 't=1,nonce=bad,signature=bad' }));
    expect(res.statusCode).toBe(413);
    expect(queue.sent).toEqual([]);
    expect(await store.deliveryOf('mobility-work', `mobility-work:${NETWORK_ID}:limit-1`)).toBeUndefined();
  });

  it('answers a signed empty body 400 with its reason, and lets the same nonce through afterwards', async () => {
    const { queue, call } = ingress();
    const nonce = randomBytes(20).toString('hex');
    const empty = { ...signed(''), headers: { 'x-mw-signature': header('', NOW_S, nonce) } };
    const res = await call(empty);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(/not valid JSON/);
    expect(queue.sent).toEqual([]);
    const rawBody = JSON.stringify(completed('after-empty'));
    const next = await call({
      ...signed(rawBody),
      headers: { 'x-mw-signature': header(rawBody, NOW_S, nonce) },
    });
    expect(next.statusCode).toBe(200);
  });

  it('acknowledges 200 a documented event no flow subscribes to, even signed late, and queues nothing', async () => {
    const { queue, call } = ingress([MW_EVENT.TaskWasCompleted]);
    const rawBody = JSON.stringify({ ...RICH.ActivityWasAddedOnTask, _idempotencyKey: 'activity-1' });
    const late = { ...signed(rawBody), headers: { 'x-mw-signature': header(rawBody, NOW_S - 3600) } };
    for (const req of [signed(rawBody), late]) {
      const res = await call(req);
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body).ignored).toEqual([MW_EVENT.ActivityWasAddedOnTask]);
    }
    expect(queue.sent).toEqual([]);
  });
});

describe('Mobility Work events no flow subscribes to', () => {
  it('acknowledges 200 a documented event no flow takes even when its payload is not the shape we expect', async () => {
    // MW retries anything but 200 and then e-mails the administrator: nothing to gain from a 400.
    const { queue, call } = ingress([MW_EVENT.TaskWasCompleted]);
    const rawBody = JSON.stringify({
      ...RICH.ActivityWasAddedOnTask,
      _idempotencyKey: 'activity-odd',
      activity: 'a comment as a string',
    });
    const res = await call(signed(rawBody));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).ignored).toEqual([MW_EVENT.ActivityWasAddedOnTask]);
    expect(queue.sent).toEqual([]);
  });

  it('still answers 400 naming the field when a flow takes that event', async () => {
    const { queue, call } = ingress();
    const rawBody = JSON.stringify({ ...RICH.TaskWasCompleted, _idempotencyKey: 'done-odd', metadata: 'x' });
    const res = await call(signed(rawBody));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(/invalid payload at metadata/);
    expect(queue.sent).toEqual([]);
  });
});
