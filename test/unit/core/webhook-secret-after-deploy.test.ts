/**
 * The stack deploys without webhook secrets: until a vendor's credential exists its route answers
 * 503 (secret unreadable) or 401 (no webhook field) and logs why; once it is added the route works
 * within RECHECK_SECONDS, without a redeploy. Real receivers, the real Secrets Manager source
 * (Powertools, 300 s cache) over aws-sdk-client-mock, and a fake clock: no sleeps.
 */

import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import machineMetricsWebhook from '../../../functions/connectors/machinemetrics/webhook.ts';
import upkeepWebhook from '../../../functions/connectors/upkeep/webhook.ts';
import type { RuntimeEnv, WebhookReceiver, WebhookRequest } from '../../../functions/core/flow.ts';
import { secretsManagerSource } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { RECHECK_SECONDS } from '../../../functions/core/webhook-secret.ts';
import { handleWebhook } from '../../../functions/runtime/ingress.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';

const sm = mockClient(SecretsManagerClient);
const SECRET = 'plant/upkeep';
const MM_SECRET = 'plant/machinemetrics';
const TOKEN = 'a'.repeat(40);
const OTHER_TOKEN = 'b'.repeat(40);

let clock = Date.parse('2026-11-02T09:00:00.000Z');
const advance = (seconds: number) => {
  clock += seconds * 1000;
};

/** The secret as Secrets Manager holds it now; undefined: it does not exist. */
let stored: Record<string, Record<string, unknown> | undefined> = {};
const reads = () => sm.commandCalls(GetSecretValueCommand).length;

beforeEach(() => {
  sm.reset();
  stored = {};
  clock = Date.parse('2026-11-02T09:00:00.000Z');
  sm.on(GetSecretValueCommand).callsFake(({ SecretId }: { SecretId: string }) => {
    const value = stored[SecretId];
    if (!value) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      });
    }
    return { Name: SecretId, SecretString: JSON.stringify(value) };
  });
});
afterEach(() => {
  sm.reset();
});

/** Delivery marks that remember nothing (MachineMetrics deduplicates redeliveries). */
const noDeliveryMarks = {
  isDelivered: async () => false,
  markDelivered: async () => {},
} as unknown as StateStore;

function setup(receiver: WebhookReceiver = upkeepWebhook) {
  const queue = recordingQueue();
  // A fresh source per test: its Powertools cache starts empty, like a new Lambda container.
  const env: RuntimeEnv & { log: ReturnType<typeof testEnv>['log'] } = testEnv(noDeliveryMarks, {
    vendors: {
      upkeep: { secretName: SECRET },
      machinemetrics: { secretName: MM_SECRET },
    },
    secrets: secretsManagerSource({
      maxAgeSeconds: 300,
      clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } },
    }),
    now: () => new Date(clock),
  });
  const options = {
    receivers: [receiver],
    routing: { 'upkeep.WORK_ORDER_CREATED': ['queue-wo'], 'machinemetrics.downtime.categorized': ['q-mm'] },
    env,
    queue,
    maxBytes: 64 * 1024,
  };
  const post = (token = TOKEN) =>
    handleWebhook(options, upkeepWebhook.route, {
      rawBody: JSON.stringify({ event: 'WORK_ORDER_CREATED', data: { id: 'wo-1' } }),
      headers: {},
      pathParameters: { token },
      query: {},
      receivedAt: new Date(clock),
    } satisfies WebhookRequest);
  return { env, queue, post, options };
}

describe('a webhook route before its secret exists', () => {
  it('answers 503 with Retry-After, logs the secret and field, enqueues nothing; works once the secret is created', async () => {
    const { env, queue, post } = setup();
    const first = await post();
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toBe(String(RECHECK_SECONDS));
    expect(JSON.parse(first.body).message).toBe('upkeep webhooks are not configured yet; retry later');
    expect(queue.sent).toEqual([]);
    const warning = env.log.lines.find((l) => l.level === 'warn');
    expect(warning?.message).toContain(`secret ${SECRET} cannot be read yet`);
    expect(warning?.extra).toMatchObject({
      vendor: 'upkeep',
      status: 503,
      secretName: SECRET,
      field: 'webhookToken',
      reason: 'secret-unavailable',
      cause: 'ResourceNotFoundException',
    });

    // The operator creates the secret. A burst meanwhile costs no Secrets Manager call.
    stored[SECRET] = { email: 'e@plant', password: 'p', webhookToken: TOKEN };
    const readsBefore = reads();
    advance(10);
    expect((await post()).statusCode).toBe(503);
    expect((await post()).statusCode).toBe(503);
    expect(reads()).toBe(readsBefore);
    expect(queue.sent).toEqual([]);

    advance(RECHECK_SECONDS);
    const later = await post();
    expect(later.statusCode).toBe(202);
    expect(queue.sent.map((s) => s.queueUrl)).toEqual(['queue-wo']);
  });

  it('never logs or answers a secret value', async () => {
    stored[SECRET] = { email: 'e@plant', password: 'hunter2-password' };
    const { env, post } = setup();
    const res = await post();
    const everything = JSON.stringify([res, env.log.lines]);
    expect(everything).not.toContain('hunter2-password');
    expect(everything).not.toContain(TOKEN);
  });
});

describe('a webhook route whose secret has no webhook field', () => {
  it('answers 401 naming nothing secret, logs the field; works within RECHECK_SECONDS of the field being added', async () => {
    stored[SECRET] = { email: 'e@plant', password: 'p' };
    const { env, queue, post } = setup();
    const first = await post();
    expect(first.statusCode).toBe(401);
    expect(JSON.parse(first.body).message).toBe('upkeep webhooks have no credential configured');
    expect(queue.sent).toEqual([]);
    expect(env.log.lines.find((l) => l.level === 'warn')).toMatchObject({
      message: `upkeep webhook refused: secret ${SECRET} has no webhookToken (set it, or run: npx millwright secrets generate-webhook upkeep)`,
      extra: { status: 401, secretName: SECRET, field: 'webhookToken', reason: 'field-missing' },
    });

    // Added, but the value Powertools cached (for 300 s) still lacks it: re-read only after 30 s.
    stored[SECRET] = { email: 'e@plant', password: 'p', webhookToken: TOKEN };
    const readsBefore = reads();
    advance(5);
    expect((await post()).statusCode).toBe(401);
    expect(reads()).toBe(readsBefore);

    advance(RECHECK_SECONDS);
    expect((await post()).statusCode).toBe(202);
    expect(reads()).toBe(readsBefore + 1);
    expect(queue.sent).toHaveLength(1);
  });

  it('MachineMetrics: 401 until webhookSecret is set, then accepts the Workflow secret', async () => {
    stored[MM_SECRET] = { apiKey: 'k' };
    const { queue, options } = setup(machineMetricsWebhook);
    const post = () =>
      handleWebhook(options, machineMetricsWebhook.route, {
        rawBody: JSON.stringify({
          event: 'downtime.categorized',
          id: 'd-1',
          machineId: 'm-1',
          timestamp: '2026-11-02T09:00:00.000Z',
          reasonId: 7,
        }),
        headers: { 'x-mm-webhook-secret': 'workflow-secret-123' },
        pathParameters: {},
        query: {},
        receivedAt: new Date(clock),
      });
    expect((await post()).statusCode).toBe(401);
    stored[MM_SECRET] = { apiKey: 'k', webhookSecret: 'workflow-secret-123' };
    advance(RECHECK_SECONDS);
    const accepted = await post();
    expect(accepted.statusCode).toBe(202);
    expect(queue.sent.map((s) => s.queueUrl)).toEqual(['q-mm']);
  });
});

describe('a rotated webhook credential', () => {
  it('is accepted at once although the old one is cached, and bad tokens cannot force a read each', async () => {
    stored[SECRET] = { email: 'e@plant', password: 'p', webhookToken: TOKEN };
    const { post } = setup();
    expect((await post(TOKEN)).statusCode).toBe(202);

    stored[SECRET] = { email: 'e@plant', password: 'p', webhookToken: OTHER_TOKEN };
    expect((await post(OTHER_TOKEN)).statusCode).toBe(202);
    const readsAfterRotation = reads();
    // The old token is refused, and within the recheck window a wrong token reads nothing.
    expect((await post(TOKEN)).statusCode).toBe(401);
    expect((await post('c'.repeat(40))).statusCode).toBe(401);
    expect(reads()).toBe(readsAfterRotation);
  });
});
