/**
 * Webhook input that AWS would refuse downstream (an SQS message over 256 KiB, a DynamoDB key over
 * 1 KB) or that would blow the parser's stack, sent to the sandbox's ingress over HTTP: each is
 * refused up front with a 4xx naming the problem, and nothing reaches a queue. Real local engines
 * (which enforce AWS's limits), random ports.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { signMobilityWorkWebhook } from '../../functions/connectors/mobility-work/signature.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { queueDepth } from '../../sandbox/sqs.ts';
import { startTestSandbox, templateSecrets } from '../support/sandbox.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

const secrets = templateSecrets() as Record<string, Record<string, unknown>>;
const UPKEEP_TOKEN = String(secrets['millwright/upkeep']?.webhookToken);
const MW_SECRET = String((secrets['millwright/mobility-work']?.webhookSecrets as string[] | undefined)?.[0]);
const NETWORK_ID = '17df9a0f-5c04-43c8-b010-b48e1237e6ff';

/** Every event on every flow queue (visible or in flight), plus what the ingress handed over. */
async function queued(): Promise<number> {
  let n = 0;
  for (const { queues } of sandbox.flows.values()) {
    const d = await queueDepth(sandbox.sqs.client, queues.queueUrl);
    n += d.visible + d.inFlight;
  }
  return n + sandbox.enqueued.length;
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${sandbox.ingressUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

/** A Mobility Work delivery signed as Mobility Work signs it. */
function postMobilityWork(body: string) {
  const t = Math.floor(sandbox.clock.now().getTime() / 1000);
  const nonce = randomBytes(20).toString('hex');
  const signature = signMobilityWorkWebhook({
    secret: MW_SECRET,
    scheme: 't.nonce.body',
    t,
    nonce,
    rawBody: body,
  });
  return post('/webhooks/mobility-work', body, { 'x-mw-signature': signature });
}

const taskCompleted = (fields: Record<string, unknown>) =>
  JSON.stringify({
    _event: 'TaskWasCompleted',
    _idempotencyKey: randomBytes(6).toString('hex'),
    networkId: NETWORK_ID,
    id: 'task-1',
    doneAt: '2026-11-02T07:59:00.000Z',
    ...fields,
  });

describe('engine limits at the webhook ingress', () => {
  it('engine limits: a 120 KB UpKeep object id is refused with 400 and nothing is enqueued', async () => {
    const before = await queued();
    const body = JSON.stringify({ event: 'WORK_ORDER_CREATED', data: { id: 'w'.repeat(120_000) } });
    const res = await post(`/webhooks/upkeep/${UPKEEP_TOKEN}`, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe(
      'UpKeep webhook: object id is 120000 bytes; the limit is 256',
    );
    expect(await queued()).toBe(before);
  });

  it('engine limits: a 100 KB Mobility Work _idempotencyKey is refused with 400 and nothing is enqueued', async () => {
    const before = await queued();
    const res = await postMobilityWork(taskCompleted({ _idempotencyKey: 'k'.repeat(100_000) }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe(
      'mobility-work webhook: _idempotencyKey is 100000 bytes; the limit is 256',
    );
    expect(await queued()).toBe(before);
  });

  it('engine limits: a webhook body whose event would not fit one SQS message is refused with 413 up front, never a 503 retry loop', async () => {
    const before = await queued();
    // Under the configured 262,144-byte body limit, but the queued event carries the whole body.
    const body = taskCompleted({ note: 'n'.repeat(261_000) });
    expect(Buffer.byteLength(body)).toBeLessThan(262_144);
    const res = await postMobilityWork(body);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /^body is \d+ bytes; the limit is 253952$/,
    );
    expect(await queued()).toBe(before);
    // A delivery that fits still goes through, to the end of the queue.
    const ok = await postMobilityWork(taskCompleted({ note: 'n'.repeat(200_000) }));
    expect(ok.status).toBe(200);
    expect(await queued()).toBeGreaterThan(before);
  });
});

describe('hostile input at the webhook ingress', () => {
  it('hostile input: a correctly signed, deeply nested JSON body (a JSON bomb) gets 400 and enqueues nothing', async () => {
    const before = await queued();
    const depth = 50_000;
    const body = taskCompleted({ bomb: 'PLACEHOLDER' }).replace(
      '"PLACEHOLDER"',
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
    );
    const started = Date.now();
    const res = await postMobilityWork(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe('body nests deeper than 64 levels');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await queued()).toBe(before);
  });
});
