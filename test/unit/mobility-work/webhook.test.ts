import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MobilityWorkConfigInput } from '../../../functions/connectors/mobility-work/config.ts';
import { MW_EVENT } from '../../../functions/connectors/mobility-work/events.ts';
import {
  MW_SIGNATURE_SCHEME_NAMES,
  type MwSignatureScheme,
  signMobilityWorkWebhook,
} from '../../../functions/connectors/mobility-work/signature.ts';
import defaultReceiver, {
  MW_NONCE_NAMESPACE,
  MW_WEBHOOK_ROUTE,
  mobilityWorkWebhook,
  mwEventOwnTimeOf,
} from '../../../functions/connectors/mobility-work/webhook.ts';
import { bodyFingerprint } from '../../../functions/core/digest.ts';
import { WebhookError } from '../../../functions/core/errors.ts';
import type { RuntimeEnv, WebhookRequest } from '../../../functions/core/flow.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { WebhookNotConfiguredError } from '../../../functions/core/webhook-secret.ts';
import { handleWebhook } from '../../../functions/runtime/ingress.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { DOC_SAMPLES } from './doc-samples.ts';
import { NETWORK_ID, OTHER_NETWORK_ID, RICH, SECRET_NAME } from './fixtures.ts';

const SECRET = 'whsec_test_0123456789';
const SECOND_SECRET = 'whsec_second_subscription';
const RECEIVED_AT = new Date('2026-11-02T09:00:00.000Z');
const NOW_S = RECEIVED_AT.getTime() / 1000;
const BODY = JSON.stringify(RICH.TaskWasCompleted);

let testState: TestState;
let store: StateStore;

beforeAll(async () => {
  testState = await startTestState();
  store = testState.store(() => RECEIVED_AT);
});
afterAll(async () => {
  await testState.close();
});

function env(
  vendor: Partial<MobilityWorkConfigInput> = {},
  secret: Record<string, unknown> = { apiKey: 'k', webhookSecrets: [SECRET] },
) {
  return testEnv(store, {
    vendors: { 'mobility-work': { secretName: SECRET_NAME, ...vendor } },
    secrets: staticSecretSource({ [SECRET_NAME]: secret }),
  });
}

const nonce = () => randomBytes(20).toString('hex');

function signed(
  rawBody = BODY,
  options: { secret?: string; scheme?: MwSignatureScheme; t?: number; nonce?: string } = {},
): WebhookRequest {
  const header = signMobilityWorkWebhook({
    secret: options.secret ?? SECRET,
    scheme: options.scheme ?? 't.nonce.body',
    t: options.t ?? NOW_S,
    nonce: options.nonce ?? nonce(),
    rawBody,
  });
  return unsigned(rawBody, { 'x-mw-signature': header });
}

function unsigned(rawBody = BODY, headers: Record<string, string> = {}): WebhookRequest {
  return { rawBody, headers, pathParameters: {}, query: {}, receivedAt: RECEIVED_AT };
}

async function verifyError(
  req: WebhookRequest,
  e: RuntimeEnv = env(),
): Promise<WebhookError | WebhookNotConfiguredError | undefined> {
  try {
    await mobilityWorkWebhook.verify(req, { env: e });
    return undefined;
  } catch (error) {
    if (error instanceof WebhookError || error instanceof WebhookNotConfiguredError) return error;
    throw error;
  }
}

describe('mobilityWorkWebhook shape', () => {
  it('is the default export, mounted on POST /webhooks/mobility-work, and acknowledges with 200', () => {
    expect(defaultReceiver).toBe(mobilityWorkWebhook);
    expect(mobilityWorkWebhook.vendor).toBe('mobility-work');
    expect(mobilityWorkWebhook.route).toBe(MW_WEBHOOK_ROUTE);
    expect(MW_WEBHOOK_ROUTE).toBe('POST /webhooks/mobility-work');
    expect(mobilityWorkWebhook.ackStatus).toBe(200);
  });
});

describe('mobilityWorkWebhook.verify', () => {
  it.each(MW_SIGNATURE_SCHEME_NAMES)(
    'accepts a delivery signed with scheme %s when it is configured',
    async (scheme) => {
      const e = env({ webhook: { signatureScheme: scheme } });
      await expect(verifyError(signed(BODY, { scheme }), e)).resolves.toBeUndefined();
    },
  );

  it('refuses a delivery signed with another scheme than the configured one', async () => {
    const error = await verifyError(signed(BODY, { scheme: 't.body' }));
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toMatch(/signature does not match \(scheme t\.nonce\.body\)/);
  });

  it('accepts a signature made with any of the configured secrets (one per subscription)', async () => {
    const e = env({}, { apiKey: 'k', webhookSecrets: [SECRET, SECOND_SECRET] });
    await expect(verifyError(signed(BODY, { secret: SECOND_SECRET }), e)).resolves.toBeUndefined();
  });

  it('refuses a wrong key with 401 and echoes no secret', async () => {
    const error = await verifyError(signed(BODY, { secret: 'whsec_wrong_secret_value' }));
    expect(error?.statusCode).toBe(401);
    expect(error?.message).not.toContain(SECRET);
    expect(error?.message).not.toContain('whsec_wrong_secret_value');
  });

  it('refuses a tampered body with 401', async () => {
    const req = signed(BODY);
    const error = await verifyError({ ...req, rawBody: BODY.replace('a1b2c3d4', 'a1b2c3d5') });
    expect(error?.statusCode).toBe(401);
  });

  it('accepts a timestamp exactly at the tolerance, and honours a configured tolerance', async () => {
    await expect(verifyError(signed(BODY, { t: NOW_S - 300 }))).resolves.toBeUndefined();
    const wide = env({ webhook: { toleranceSeconds: 900 } });
    await expect(verifyError(signed(BODY, { t: NOW_S + 800 }), wide)).resolves.toBeUndefined();
  });

  it('refuses a t that is not unix seconds (e.g. milliseconds) with 401', async () => {
    const error = await verifyError(signed(BODY, { t: NOW_S * 1000 }));
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toMatch(/unix seconds/);
  });

  it('accepts an exact redelivery (same nonce, same body): MW resending a delivery whose 200 was lost', async () => {
    const req = signed(BODY);
    await expect(verifyError(req)).resolves.toBeUndefined();
    await expect(verifyError({ ...req })).resolves.toBeUndefined();
  });

  it('refuses a missing header with 401', async () => {
    const error = await verifyError(unsigned(BODY));
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toMatch(/missing X-MW-Signature/);
  });

  it("reads X-MW-Signature only: a valid signature in Api-Key (the doc example's header) is refused with 401", async () => {
    const header = signed(BODY).headers['x-mw-signature'] as string;
    const error = await verifyError(unsigned(BODY, { 'api-key': header }));
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toMatch(/missing X-MW-Signature/);
  });

  it.each([
    ['no signature part', `t=${NOW_S},nonce=${'a'.repeat(40)}`],
    ['garbage', 'not-a-signature'],
    ['the doc example put in the wrong shape', `${NOW_S},${'a'.repeat(40)},${'b'.repeat(64)}`],
    ['a nonce that is not a token', `t=${NOW_S},nonce=../../x y,signature=${'b'.repeat(64)}`],
  ])('refuses a garbled header (%s) with 401', async (_case, header) => {
    expect((await verifyError(unsigned(BODY, { 'x-mw-signature': header })))?.statusCode).toBe(401);
  });

  it('refuses everything with a 401 naming the secret when it has no webhookSecrets', async () => {
    const error = await verifyError(signed(BODY), env({}, { apiKey: 'k' }));
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toContain(`secret ${SECRET_NAME} has no webhookSecrets`);
  });

  it('with requireSignature=false accepts an unsigned delivery and logs a warning', async () => {
    const e = env({ webhook: { requireSignature: false } });
    await expect(verifyError(unsigned(BODY), e)).resolves.toBeUndefined();
    expect(e.log.lines.some((l) => l.level === 'warn' && /without X-MW-Signature/.test(l.message))).toBe(
      true,
    );
  });

  it('with requireSignature=false still refuses a signed delivery whose signature is wrong', async () => {
    const e = env({ webhook: { requireSignature: false } });
    const error = await verifyError(signed(BODY, { secret: 'whsec_wrong_secret_value' }), e);
    expect(error?.statusCode).toBe(401);
  });
});

describe('mwEventOwnTimeOf (what the doc samples carry)', () => {
  it('TaskWasStarted / Canceled / Scheduled carry no time of their own; TaskWasCompleted has doneAt; _sentAt is the delivery, not the event', () => {
    expect(mwEventOwnTimeOf(DOC_SAMPLES.TaskWasStarted)).toBeUndefined();
    expect(mwEventOwnTimeOf(DOC_SAMPLES.TaskWasCanceled)).toBeUndefined();
    expect(mwEventOwnTimeOf(DOC_SAMPLES.TaskWasScheduled)).toBeUndefined();
    expect(mwEventOwnTimeOf(DOC_SAMPLES.TaskWasCompleted)).toBe('2021-11-02T16:32:38.000Z');
    expect(mwEventOwnTimeOf(DOC_SAMPLES.SparePartWasOutOfStock)).toBe('2022-06-02T14:31:06.000Z');
    expect(mwEventOwnTimeOf(DOC_SAMPLES.SparePartWasRestocked)).toBe('2023-02-08T23:00:00.000Z');
    expect(
      mwEventOwnTimeOf({ ...DOC_SAMPLES.TaskWasStarted, _sentAt: '2026-11-02T08:50:00+00:00' }),
    ).toBeUndefined();
  });
});

describe('mobilityWorkWebhook.parse', () => {
  it('refuses malformed JSON with 400', () => {
    expect(() => mobilityWorkWebhook.parse(unsigned('{"_event": "TaskWasStarted",'))).toThrow(
      expect.objectContaining({ statusCode: 400 }),
    );
  });

  it('acknowledges and ignores an unknown event', () => {
    expect(mobilityWorkWebhook.parse(unsigned('{"_event":"EquipmentWasMoved","networkId":"x"}'))).toEqual({
      events: [],
      ignored: ['EquipmentWasMoved'],
    });
  });

  it('builds the FlowEvent of the contract, its id from networkId and _idempotencyKey', () => {
    const { events, ignored } = mobilityWorkWebhook.parse(unsigned(BODY));
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      {
        id: `mobility-work:${NETWORK_ID}:Compl00001`,
        type: 'mobility-work.TaskWasCompleted',
        source: 'mobility-work.webhook',
        occurredAt: '2026-11-02T08:45:00.000Z',
        subject: 'a1b2c3d4',
        data: RICH.TaskWasCompleted,
      },
    ]);
  });

  it("gives MW's retry of a delivery (new t and nonce, same _idempotencyKey) the same event id", async () => {
    const first = signed(BODY, { t: NOW_S - 20 });
    // MW re-serialises on retry: same event, different bytes, new signature.
    const retryBody = JSON.stringify({ ...RICH.TaskWasCompleted, tags: [] }, null, 1);
    const retry = signed(retryBody, { t: NOW_S });
    await expect(verifyError(first)).resolves.toBeUndefined();
    await expect(verifyError(retry)).resolves.toBeUndefined();
    const a = mobilityWorkWebhook.parse(first).events[0];
    const b = mobilityWorkWebhook.parse(retry).events[0];
    expect(a?.id).toBe(`mobility-work:${NETWORK_ID}:Compl00001`);
    expect(b?.id).toBe(a?.id);
  });

  it('falls back to a body fingerprint when there is no _idempotencyKey (same bytes, same id)', () => {
    const { _idempotencyKey, ...rest } = RICH.TaskWasStarted;
    const raw = JSON.stringify(rest);
    const a = mobilityWorkWebhook.parse(unsigned(raw)).events[0]?.id;
    expect(a).toMatch(new RegExp(`^mobility-work:${NETWORK_ID}:body-[0-9a-f]{16}$`));
    expect(mobilityWorkWebhook.parse(unsigned(raw)).events[0]?.id).toBe(a);
  });

  it('with the env, acknowledges and ignores an event of another network', () => {
    const e = env({ networkId: NETWORK_ID });
    const other = JSON.stringify({ ...RICH.TaskWasStarted, networkId: OTHER_NETWORK_ID });
    expect(mobilityWorkWebhook.parse(unsigned(other), { env: e })).toEqual({
      events: [],
      ignored: [`network ${OTHER_NETWORK_ID}`],
    });
    expect(
      mobilityWorkWebhook.parse(unsigned(JSON.stringify(RICH.TaskWasStarted)), { env: e }).events,
    ).toHaveLength(1);
  });

  it('without the env (today’s ingress) or without a configured networkId, passes every network', () => {
    const other = unsigned(JSON.stringify(DOC_SAMPLES.TaskWasStarted));
    expect(mobilityWorkWebhook.parse(other).events).toHaveLength(1);
    expect(mobilityWorkWebhook.parse(other, { env: env() }).events).toHaveLength(1);
  });
});

describe('Mobility Work deliveries through the ingress', () => {
  const ingress = (queueOptions: Parameters<typeof recordingQueue>[0] = {}) => {
    const queue = recordingQueue(queueOptions);
    const options = {
      receivers: [mobilityWorkWebhook],
      routing: Object.fromEntries(Object.values(MW_EVENT).map((type) => [type, ['mw-queue']])),
      env: env(),
      queue,
      maxBytes: 100_000,
    };
    return { queue, call: (req: WebhookRequest) => handleWebhook(options, MW_WEBHOOK_ROUTE, req) };
  };
  const body = (key: string) => JSON.stringify({ ...RICH.TaskWasCompleted, _idempotencyKey: key });

  it('answers an exact redelivery (our 200 was lost) with 200 and enqueues nothing', async () => {
    const req = signed(body('lost-200'));
    const first = ingress();
    expect((await first.call(req)).statusCode).toBe(200);
    expect(first.queue.sent).toHaveLength(1);

    const again = ingress();
    const res = await again.call({ ...req });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(again.queue.sent).toEqual([]);
  });

  it.each([
    ['too old', NOW_S - 301],
    ['in the future', NOW_S + 301],
  ])('refuses a timestamp %s with 401 (stale), and marks nothing', async (_case, t) => {
    const req = signed(body(`stale-${t}`), { t });
    const { queue, call } = ingress();
    const res = await call(req);
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body).message).toMatch(/stale X-MW-Signature/);
    expect(queue.sent).toEqual([]);
    expect(
      await store.deliveryOf(MW_NONCE_NAMESPACE, `mobility-work:${NETWORK_ID}:stale-${t}`),
    ).toBeUndefined();
  });

  it('accepts an exact redelivery even after the tolerance (enqueued once), but only of a delivery it saw', async () => {
    const req = signed(body('late-redelivery'));
    const { queue, call } = ingress();
    expect((await call(req)).statusCode).toBe(200);
    const late = { ...req, receivedAt: new Date(RECEIVED_AT.getTime() + 3_600_000) };
    const again = await call(late);
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    // The same body signed again with another nonce, an hour late: not the request we accepted.
    const resigned = { ...signed(body('late-redelivery')), receivedAt: late.receivedAt };
    expect((await call(resigned)).statusCode).toBe(401);
    const unseen = { ...signed(body('late-unseen')), receivedAt: late.receivedAt };
    const refused = await call(unseen);
    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body).message).toMatch(/stale X-MW-Signature/);
    expect(queue.sent).toHaveLength(1);
  });

  it('answers the same nonce signed over another body of the same delivery with 401, and enqueues nothing', async () => {
    const n = nonce();
    const first = JSON.stringify({ ...RICH.TaskWasCompleted, _idempotencyKey: 'nonce-replay' });
    expect((await ingress().call(signed(first, { nonce: n }))).statusCode).toBe(200);
    const other = JSON.stringify({ ...RICH.TaskWasCompleted, _idempotencyKey: 'nonce-replay', id: 'x9' });
    const replay = ingress();
    const res = await replay.call(signed(other, { nonce: n }));
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body).message).toMatch(/replayed nonce/);
    expect(replay.queue.sent).toEqual([]);
  });

  it('forgets the delivery mark when enqueueing failed, so the retry (even with the same nonce) goes through', async () => {
    const n = nonce();
    const req = signed(body('enqueue-failed'), { nonce: n });
    expect((await ingress({ fail: true }).call(req)).statusCode).toBe(503);
    const retry = ingress();
    expect((await retry.call({ ...req })).statusCode).toBe(200);
    expect(retry.queue.sent).toHaveLength(1);
  });

  it('honours the delivery marks and nonce items a table holds from before issue 14', async () => {
    const n = nonce();
    const rawBody = body('old-shapes');
    const id = `mobility-work:${NETWORK_ID}:old-shapes`;
    // What the earlier ingress left: a nonce item with the fingerprint, a bare delivery mark.
    await store.rememberNonce(MW_NONCE_NAMESPACE, n, {
      ttlSeconds: 86_400,
      fingerprint: bodyFingerprint(rawBody),
    });
    await store.markDelivered(MW_NONCE_NAMESPACE, id, 86_400);
    const { queue, call } = ingress();
    const retry = await call(signed(rawBody));
    expect(JSON.parse(retry.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    const late = (req: WebhookRequest) => ({
      ...req,
      receivedAt: new Date(RECEIVED_AT.getTime() + 3_600_000),
    });
    const lateExact = await call(late(signed(rawBody, { nonce: n })));
    expect(lateExact.statusCode).toBe(200);
    expect(JSON.parse(lateExact.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect((await call(late(signed(rawBody)))).statusCode).toBe(401);
    expect(queue.sent).toEqual([]);
  });

  it('keeps nonce and body fingerprint on the delivery mark, in its own namespace: one write per delivery', async () => {
    const n = nonce();
    const rawBody = body('one-item');
    await ingress().call(signed(rawBody, { nonce: n }));
    const id = `mobility-work:${NETWORK_ID}:one-item`;
    expect(await store.deliveryOf(MW_NONCE_NAMESPACE, id)).toMatchObject({
      nonce: n,
      fingerprint: bodyFingerprint(rawBody),
    });
    expect(await store.deliveryOf('machinemetrics', id)).toBeUndefined();
  });
});
