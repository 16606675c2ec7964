import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_EVENT_TYPES,
  DOWNTIME_STARTED,
} from '../../../functions/connectors/machinemetrics/events.ts';
import {
  MM_WEBHOOK_ROUTE,
  machineMetricsWebhook,
  signMachineMetricsWebhook,
  WEBHOOK_NONCE_NAMESPACE,
} from '../../../functions/connectors/machinemetrics/webhook.ts';
import { bodyFingerprint } from '../../../functions/core/digest.ts';
import { WebhookError } from '../../../functions/core/errors.ts';
import type { RuntimeEnv, WebhookRequest } from '../../../functions/core/flow.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { WebhookNotConfiguredError } from '../../../functions/core/webhook-secret.ts';
import { handleWebhook } from '../../../functions/runtime/ingress.ts';
import { recordingQueue } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { MACHINE_1, mutableSecrets, SECRET_NAME, testEnv } from './fixtures.ts';

const SECRET = 'whsec-test-vector-1';
const TIMESTAMP = '1793606400'; // 2026-11-02T08:00:00Z
const BODY =
  '{"event":"downtime.categorized","id":"dlv-1","machineId":"0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c","machineName":"MACHINE 1","timestamp":"2026-11-02T08:10:00Z","reasonId":33,"reasonName":"Chipping Out","downtimeStartedAt":"2026-11-02T07:55:00Z"}';
/** Computed independently: printf '%s' "$TIMESTAMP.$BODY" | openssl dgst -sha256 -hmac "$SECRET" */
const SIGNATURE = 'f4ada4a8a0293c7d4e5feb84397e7777c790c9ed10eac6c9ec7aa688a05bcf3d';
const RECEIVED_AT = new Date('2026-11-02T08:00:30Z');

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
  webhook: Record<string, unknown>,
  secret: Record<string, unknown> = { apiKey: 'k', webhookSecret: SECRET },
) {
  return testEnv({
    vendors: { machinemetrics: { secretName: SECRET_NAME, webhook } },
    secrets: mutableSecrets({ [SECRET_NAME]: secret }).source,
    state: store,
  });
}

function request(rawBody: string, headers: Record<string, string>, receivedAt = RECEIVED_AT): WebhookRequest {
  return { rawBody, headers, pathParameters: {}, query: {}, receivedAt };
}

async function verifyError(
  req: WebhookRequest,
  e: RuntimeEnv,
): Promise<WebhookError | WebhookNotConfiguredError | undefined> {
  try {
    await machineMetricsWebhook.verify(req, { env: e });
    return undefined;
  } catch (error) {
    if (error instanceof WebhookError || error instanceof WebhookNotConfiguredError) return error;
    throw error;
  }
}

describe('machineMetricsWebhook.verify: shared-secret-header scheme', () => {
  const shared = () => env({ scheme: 'shared-secret-header' });

  it('is mounted on POST /webhooks/machinemetrics', () => {
    expect(machineMetricsWebhook.route).toBe(MM_WEBHOOK_ROUTE);
    expect(MM_WEBHOOK_ROUTE).toBe('POST /webhooks/machinemetrics');
  });

  it('accepts the Workflow secret in the default header', async () => {
    await expect(
      verifyError(request(BODY, { 'x-mm-webhook-secret': SECRET }), shared()),
    ).resolves.toBeUndefined();
  });

  it('refuses a wrong secret with 401 and does not echo either secret', async () => {
    const error = await verifyError(request(BODY, { 'x-mm-webhook-secret': 'whsec-wrong-value' }), shared());
    expect(error?.statusCode).toBe(401);
    expect(error?.message).not.toContain(SECRET);
    expect(error?.message).not.toContain('whsec-wrong-value');
  });

  it('refuses a request without the header with 401', async () => {
    expect((await verifyError(request(BODY, {}), shared()))?.statusCode).toBe(401);
  });

  it('honours a configured header name (matched case-insensitively)', async () => {
    const custom = env({ scheme: 'shared-secret-header', secretHeader: 'X-Workflow-Secret' });
    await expect(
      verifyError(request(BODY, { 'x-workflow-secret': SECRET }), custom),
    ).resolves.toBeUndefined();
    expect((await verifyError(request(BODY, { 'x-mm-webhook-secret': SECRET }), custom))?.statusCode).toBe(
      401,
    );
  });

  it('refuses everything with a clear 401 when the secret has no webhookSecret', async () => {
    const error = await verifyError(
      request(BODY, { 'x-mm-webhook-secret': SECRET }),
      env({}, { apiKey: 'k' }),
    );
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toContain(`secret ${SECRET_NAME} has no webhookSecret`);
  });

  it('defaults to the shared-secret-header scheme when the config has no webhook section', async () => {
    const e = testEnv({
      vendors: { machinemetrics: { secretName: SECRET_NAME } },
      secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: 'k', webhookSecret: SECRET } }).source,
      state: store,
    });
    await expect(verifyError(request(BODY, { 'x-mm-webhook-secret': SECRET }), e)).resolves.toBeUndefined();
  });
});

describe('machineMetricsWebhook.verify: hmac-sha256 scheme', () => {
  const hmac = () => env({ scheme: 'hmac-sha256', toleranceSeconds: 300 });
  const signed = (body: string, signature = SIGNATURE, timestamp = TIMESTAMP) =>
    request(body, { 'x-mm-signature': signature, 'x-mm-timestamp': timestamp });

  it('signs the test vector exactly as computed with openssl', () => {
    expect(signMachineMetricsWebhook(SECRET, TIMESTAMP, BODY)).toBe(SIGNATURE);
  });

  it('lets the retry of a delivery the ingress could not enqueue through (nonce released on 503)', async () => {
    const body = BODY.replace('}', ', "note": "retry"}');
    const req = signed(body, signMachineMetricsWebhook(SECRET, TIMESTAMP, body));
    const options = (fail: boolean) => ({
      receivers: [machineMetricsWebhook],
      routing: Object.fromEntries(Object.values(DOWNTIME_EVENT_TYPES).map((t) => [t, ['q']])),
      env: hmac(),
      queue: recordingQueue({ fail }),
      maxBytes: 100_000,
    });
    expect((await handleWebhook(options(true), machineMetricsWebhook.route, req)).statusCode).toBe(503);
    expect((await handleWebhook(options(false), machineMetricsWebhook.route, req)).statusCode).toBe(202);
    // MachineMetrics resending the same delivery (its answer was lost): acknowledged, nothing enqueued.
    const again = options(false);
    const redelivery = await handleWebhook(again, machineMetricsWebhook.route, req);
    expect(redelivery.statusCode).toBe(202);
    expect(JSON.parse(redelivery.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(again.queue.sent).toEqual([]);
  });

  it('accepts the valid test vector, and an exact redelivery of it', async () => {
    await expect(verifyError(signed(BODY), hmac())).resolves.toBeUndefined();
    await expect(verifyError(signed(BODY), hmac())).resolves.toBeUndefined();
  });

  it('refuses a signature already seen with another body (a replay) with 401', async () => {
    const body = BODY.replace('}', ', "note": "replayed"}');
    const signature = signMachineMetricsWebhook(SECRET, TIMESTAMP, body);
    await store.rememberNonce(WEBHOOK_NONCE_NAMESPACE, signature, { ttlSeconds: 600, fingerprint: 'other' });
    const replay = await verifyError(signed(body, signature), hmac());
    expect(replay?.statusCode).toBe(401);
    expect(replay?.message).toMatch(/replay/);
  });

  it('refuses a tampered body with 401', async () => {
    const tampered = BODY.replace('"reasonId":33', '"reasonId":95');
    expect((await verifyError(signed(tampered), hmac()))?.statusCode).toBe(401);
  });

  it('refuses a signature made with another secret with 401', async () => {
    const other = signMachineMetricsWebhook('whsec-someone-else', TIMESTAMP, BODY);
    expect((await verifyError(signed(BODY, other), hmac()))?.statusCode).toBe(401);
  });

  it('refuses a stale timestamp even with a valid signature for it', async () => {
    const stale = String(Number(TIMESTAMP) - 301);
    const signature = signMachineMetricsWebhook(SECRET, stale, BODY);
    const error = await verifyError(signed(BODY, signature, stale), hmac());
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toMatch(/tolerance/);
  });

  it('accepts a timestamp just inside the tolerance and a sha256= prefix', async () => {
    const edge = String(Math.floor(RECEIVED_AT.getTime() / 1000) - 300);
    const body = BODY.replace('dlv-1', 'dlv-edge');
    const signature = `sha256=${signMachineMetricsWebhook(SECRET, edge, body)}`;
    await expect(verifyError(signed(body, signature, edge), hmac())).resolves.toBeUndefined();
  });

  it('refuses missing signature or timestamp headers and non-hex signatures with 401', async () => {
    expect((await verifyError(request(BODY, { 'x-mm-timestamp': TIMESTAMP }), hmac()))?.statusCode).toBe(401);
    expect((await verifyError(request(BODY, { 'x-mm-signature': SIGNATURE }), hmac()))?.statusCode).toBe(401);
    expect((await verifyError(signed(BODY, 'not-hex'), hmac()))?.statusCode).toBe(401);
  });

  it.each([
    [
      'a payload missing machineId',
      400,
      BODY.replace('"machineId":"0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c",', ''),
    ],
    ['a JSON bomb', 400, `${'['.repeat(200)}${']'.repeat(200)}`],
  ])(
    'bad input: a validly signed delivery refused for %s (%i) leaves no nonce behind',
    async (_what, status, body) => {
      const signature = signMachineMetricsWebhook(SECRET, TIMESTAMP, body);
      const options = {
        receivers: [machineMetricsWebhook],
        routing: Object.fromEntries(Object.values(DOWNTIME_EVENT_TYPES).map((t) => [t, ['q']])),
        env: hmac(),
        queue: recordingQueue(),
        maxBytes: 1_000_000,
      };
      const answer = await handleWebhook(options, machineMetricsWebhook.route, signed(body, signature));
      expect(answer.statusCode).toBe(status);
      expect(options.queue.sent).toEqual([]);
      expect(await store.nonceSeenWith(WEBHOOK_NONCE_NAMESPACE, signature, bodyFingerprint(body))).toBe(
        false,
      );
    },
  );

  it('refuses a timestamp beyond the tolerance in the future with 401, and remembers no nonce', async () => {
    const future = String(Math.floor(RECEIVED_AT.getTime() / 1000) + 301);
    const body = BODY.replace('dlv-1', 'dlv-future');
    const signature = signMachineMetricsWebhook(SECRET, future, body);
    const error = await verifyError(signed(body, signature, future), hmac());
    expect(error?.statusCode).toBe(401);
    expect(error?.message).toMatch(/tolerance/);
    expect(await store.nonceSeenWith(WEBHOOK_NONCE_NAMESPACE, signature, bodyFingerprint(body))).toBe(false);
  });

  it('enqueues a pretty-printed UTF-8 body signed as sent, with an upper-case SHA256= digest', async () => {
    const body = `${JSON.stringify({ ...JSON.parse(BODY), id: 'dlv-utf8', machineName: 'Fräse 5 – 旋盤' }, null, 2)}\n`;
    const signature = `SHA256=${signMachineMetricsWebhook(SECRET, TIMESTAMP, body).toUpperCase()}`;
    const options = {
      receivers: [machineMetricsWebhook],
      routing: Object.fromEntries(Object.values(DOWNTIME_EVENT_TYPES).map((t) => [t, ['q']])),
      env: hmac(),
      queue: recordingQueue(),
      maxBytes: 100_000,
    };
    const answer = await handleWebhook(options, machineMetricsWebhook.route, signed(body, signature));
    expect(answer.statusCode).toBe(202);
    expect(options.queue.sent[0]?.event.data).toMatchObject({ machineName: 'Fräse 5 – 旋盤' });
  });

  it.each([
    ['no flow takes webhooks (polling only)', {}],
    ['flows take only the status changes', { [DOWNTIME_STARTED]: ['q'], [DOWNTIME_ENDED]: ['q'] }],
  ])(
    'acknowledges a downtime.categorized it cannot read when %s, and enqueues nothing',
    async (_case, routing) => {
      const body = BODY.replace('dlv-1', `dlv-unrouted-${Object.keys(routing).length}`).replace(
        '"reasonId":33,',
        '',
      );
      const options = {
        receivers: [machineMetricsWebhook],
        routing,
        env: hmac(),
        queue: recordingQueue(),
        maxBytes: 100_000,
      };
      const answer = await handleWebhook(
        options,
        machineMetricsWebhook.route,
        signed(body, signMachineMetricsWebhook(SECRET, TIMESTAMP, body)),
      );
      expect(answer.statusCode).toBe(202);
      expect(options.queue.sent).toEqual([]);
    },
  );

  it('verifies before parsing: a bad signature on a non-JSON body is a 401, not a 400', async () => {
    expect((await verifyError(signed('{not json', SIGNATURE), hmac()))?.statusCode).toBe(401);
  });
});

describe('machineMetricsWebhook.parse', () => {
  const parse = (payload: unknown) =>
    machineMetricsWebhook.parse(request(typeof payload === 'string' ? payload : JSON.stringify(payload), {}));
  const parseError = (payload: unknown) => {
    try {
      parse(payload);
    } catch (error) {
      return error as WebhookError;
    }
    throw new Error('expected parse to throw');
  };

  it('turns downtime.categorized into a DOWNTIME_CATEGORIZED event with a string reason id', () => {
    const { events, ignored } = machineMetricsWebhook.parse(request(BODY, {}));
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      {
        id: 'mm:webhook:dlv-1',
        type: DOWNTIME_CATEGORIZED,
        source: 'machinemetrics.webhook',
        occurredAt: '2026-11-02T08:10:00.000Z',
        subject: MACHINE_1,
        data: {
          machineId: MACHINE_1,
          machineName: 'MACHINE 1',
          episodeKey: `wh:${MACHINE_1}:2026-11-02T07:55:00.000Z`,
          reasonId: '33',
          reasonName: 'Chipping Out',
          categorizedAt: '2026-11-02T08:10:00.000Z',
        },
      },
    ]);
  });

  it('turns a DOWN status change into DOWNTIME_STARTED with defaults for reason and duration', () => {
    const { events } = parse({
      event: 'machine.status.changed',
      id: 'dlv-2',
      machineId: MACHINE_1,
      timestamp: '2026-11-02T08:00:00Z',
      status: 'stopped',
    });
    expect(events[0]?.type).toBe(DOWNTIME_STARTED);
    expect(events[0]?.data).toEqual({
      machineId: MACHINE_1,
      machineName: MACHINE_1,
      episodeKey: `wh:${MACHINE_1}:2026-11-02T08:00:00.000Z`,
      startedAt: '2026-11-02T08:00:00.000Z',
      detectedAt: '2026-11-02T08:00:00.000Z',
      reasonId: 'uncategorized',
      reasonName: 'Uncategorized',
      downtimeMs: 0,
    });
  });

  it('turns a running status change into DOWNTIME_ENDED at the payload timestamp', () => {
    const { events } = parse({
      event: 'machine.status.changed',
      id: 'dlv-3',
      machineId: MACHINE_1,
      timestamp: '2026-11-02T08:20:00Z',
      status: 'In_Cycle',
      downtimeStartedAt: '2026-11-02T08:00:00Z',
      durationMs: 1_200_000,
    });
    expect(events[0]?.type).toBe(DOWNTIME_ENDED);
    expect(events[0]?.data).toEqual({
      machineId: MACHINE_1,
      episodeKey: `wh:${MACHINE_1}:2026-11-02T08:00:00.000Z`,
      startedAt: '2026-11-02T08:00:00.000Z',
      endedAt: '2026-11-02T08:20:00.000Z',
      downtimeMs: 1_200_000,
    });
  });

  it('gives a redelivery without a delivery id the same event id (from the raw body)', () => {
    const payload = {
      event: 'downtime.categorized',
      machineId: MACHINE_1,
      timestamp: '2026-11-02T08:00:00Z',
      reasonId: 95,
    };
    const first = parse(payload).events[0]?.id;
    expect(first).toMatch(/^mm:webhook:[0-9a-f]{16}$/);
    expect(parse(payload).events[0]?.id).toBe(first);
    expect(parse({ ...payload, reasonId: 33 }).events[0]?.id).not.toBe(first);
  });

  it('acknowledges unknown event names as ignored, not as errors', () => {
    expect(parse({ event: 'alarm.triggered', machineId: MACHINE_1 })).toEqual({
      events: [],
      ignored: ['alarm.triggered'],
    });
  });

  it('ignores status changes that are neither running nor down', () => {
    const result = parse({
      event: 'machine.status.changed',
      machineId: MACHINE_1,
      timestamp: '2026-11-02T08:00:00Z',
      status: 'SETUP',
    });
    expect(result).toEqual({ events: [], ignored: ['machine.status.changed:SETUP'] });
  });

  it('answers malformed JSON with 400', () => {
    const error = parseError('{"event":');
    expect(error).toBeInstanceOf(WebhookError);
    expect(error.statusCode).toBe(400);
  });

  it('answers a missing required field with 400 naming it', () => {
    const error = parseError({
      event: 'downtime.categorized',
      timestamp: '2026-11-02T08:00:00Z',
      reasonId: 33,
    });
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/machineId/);
  });

  it('answers a non-ISO timestamp and a categorisation without reason with 400 naming the field', () => {
    expect(
      parseError({ event: 'downtime.categorized', machineId: MACHINE_1, timestamp: 'yesterday', reasonId: 1 })
        .message,
    ).toMatch(/timestamp/);
    expect(
      parseError({ event: 'downtime.categorized', machineId: MACHINE_1, timestamp: '2026-11-02T08:00:00Z' })
        .message,
    ).toMatch(/reasonId/);
  });
});
