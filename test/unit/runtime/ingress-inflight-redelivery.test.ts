/**
 * A vendor resends a delivery while our first delivery of it is still enqueueing (it timed out
 * waiting for our answer). The resend gets its 200, so when the first enqueue then fails (503 on a
 * connection the vendor has already given up on) nothing would ever send the event again: Mobility
 * Work retries only twice. So a re-signed redelivery within DELIVERY_GRACE_SECONDS that no worker
 * has recorded is enqueued again, once per delivery mark; an exact resend (the same signed request,
 * as a replay is) never is. Real Mobility Work receiver and signatures, real state table.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { signMobilityWorkWebhook } from '../../../functions/connectors/mobility-work/signature.ts';
import {
  MW_WEBHOOK_ROUTE,
  mobilityWorkWebhook,
} from '../../../functions/connectors/mobility-work/webhook.ts';
import type { WebhookRequest } from '../../../functions/core/flow.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import { DELIVERY_GRACE_SECONDS, handleWebhook } from '../../../functions/runtime/ingress.ts';
import type { EventQueue } from '../../../functions/runtime/queue.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { RICH, SECRET_NAME } from '../mobility-work/fixtures.ts';

const SECRET = 'whsec_inflight_0123456789';
const T0 = new Date('2026-11-02T09:00:00.000Z');
const COMPLETED = 'mobility-work.TaskWasCompleted';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

/** One signed delivery of `key` (a fresh nonce each: the vendor signs every attempt anew). */
function delivery(key: string, at = T0): WebhookRequest {
  const rawBody = JSON.stringify({ ...RICH.TaskWasCompleted, _idempotencyKey: key });
  const header = signMobilityWorkWebhook({
    secret: SECRET,
    scheme: 't.nonce.body',
    t: Math.floor(at.getTime() / 1000),
    nonce: randomBytes(20).toString('hex'),
    rawBody,
  });
  return { rawBody, headers: { 'x-mw-signature': header }, pathParameters: {}, query: {}, receivedAt: at };
}

function deliver(req: WebhookRequest, queue: EventQueue, at = T0) {
  return handleWebhook(
    {
      receivers: [mobilityWorkWebhook],
      routing: { [COMPLETED]: ['q'] },
      env: testEnv(
        t.store(() => at),
        {
          now: () => at,
          vendors: { 'mobility-work': { secretName: SECRET_NAME } },
          secrets: staticSecretSource({ [SECRET_NAME]: { apiKey: 'k', webhookSecrets: [SECRET] } }),
        },
      ),
      queue,
      maxBytes: 100_000,
    },
    MW_WEBHOOK_ROUTE,
    req,
  );
}

/** A queue whose sends hang until `fail` or `pass` is called: the first delivery, still enqueueing. */
function hangingQueue() {
  const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const queue: EventQueue = {
    send: () => new Promise<void>((resolve, reject) => waiting.push({ resolve, reject })),
  };
  const reached = async () => {
    for (let i = 0; i < 1000 && waiting.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(waiting.length).toBeGreaterThan(0);
  };
  return {
    queue,
    reached,
    fail: () => {
      for (const w of waiting) w.reject(new Error('SQS unavailable'));
    },
    pass: () => {
      for (const w of waiting) w.resolve();
    },
  };
}

const idsOf = (q: ReturnType<typeof recordingQueue>) => q.sent.map((s) => s.event.id);

describe('a redelivery while the first delivery is still enqueueing', () => {
  it('is enqueued, so nothing is lost when the first enqueue then fails', async () => {
    const first = hangingQueue();
    const firstDelivery = deliver(delivery('inflight-1'), first.queue);
    await first.reached();
    const resent = recordingQueue();
    const resend = await deliver(delivery('inflight-1'), resent);
    expect(resend.statusCode).toBe(200);
    first.fail();
    expect((await firstDelivery).statusCode).toBe(503);
    // The vendor has its 200 and will not send again: the event is on the queue through the resend.
    expect(idsOf(resent)).toHaveLength(1);
  });

  it('is enqueued once however many re-signed copies come, and an exact resend (a replay) never', async () => {
    const first = hangingQueue();
    const original = delivery('inflight-2');
    const firstDelivery = deliver(original, first.queue);
    await first.reached();
    const resent = recordingQueue();
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => deliver(delivery('inflight-2'), resent)),
      deliver(original, resent),
      deliver(original, resent),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(200));
    expect(idsOf(resent)).toHaveLength(1);
    first.pass();
    expect((await firstDelivery).statusCode).toBe(200);
    // Later copies: the flag stays taken.
    expect(JSON.parse((await deliver(delivery('inflight-2'), resent)).body)).toMatchObject({ enqueued: 0 });
    expect(idsOf(resent)).toHaveLength(1);
  });

  it('gives the flag back when its own enqueue fails, so the next copy is enqueued', async () => {
    const first = recordingQueue();
    await deliver(delivery('inflight-3'), first);
    const failing: EventQueue = {
      send: async () => {
        throw new Error('SQS unavailable');
      },
    };
    expect((await deliver(delivery('inflight-3'), failing)).statusCode).toBe(503);
    const third = recordingQueue();
    expect(JSON.parse((await deliver(delivery('inflight-3'), third)).body)).toMatchObject({ enqueued: 1 });
    expect(idsOf(third)).toHaveLength(1);
  });

  it('takes the delivery afresh when the first enqueue failed and undid its mark meanwhile', async () => {
    const first = hangingQueue();
    const firstDelivery = deliver(delivery('inflight-4'), first.queue);
    await first.reached();
    first.fail();
    expect((await firstDelivery).statusCode).toBe(503);
    const resent = recordingQueue();
    expect(JSON.parse((await deliver(delivery('inflight-4'), resent)).body)).toMatchObject({ enqueued: 1 });
    // Marked afresh: the next copy is a plain duplicate of an accepted delivery (enqueued once more
    // at most, by the new mark's own flag).
    expect(idsOf(resent)).toHaveLength(1);
  });

  it('is answered without enqueueing after the grace, or once a worker has recorded the event', async () => {
    const queue = recordingQueue();
    await deliver(delivery('inflight-5'), queue);
    const later = new Date(T0.getTime() + (DELIVERY_GRACE_SECONDS + 1) * 1000);
    // After the grace the first delivery is long over (the mark + no run log = a crash: enqueued).
    await t.store().appendRun({
      flowId: 'f',
      eventId: queue.sent[0]?.event.id ?? '',
      eventType: COMPLETED,
      outcome: 'done',
      message: 'handled',
      at: T0.toISOString(),
    });
    const soon = recordingQueue();
    expect(JSON.parse((await deliver(delivery('inflight-5'), soon)).body)).toMatchObject({
      enqueued: 0,
      duplicates: 1,
    });
    expect(JSON.parse((await deliver(delivery('inflight-5', later), soon, later)).body)).toMatchObject({
      enqueued: 0,
      duplicates: 1,
    });
    expect(soon.sent).toEqual([]);
  });
});
