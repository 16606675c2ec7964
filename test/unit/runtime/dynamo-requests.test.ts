/**
 * DynamoDB requests per webhook event, end to end (issue 14: at most 4 for a one-flow event): the
 * exact requests the ingress and the worker send for one Mobility Work delivery, counted at the SDK
 * client. A change that adds a request to this path fails here; update the counts only on purpose.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { signMobilityWorkWebhook } from '../../../functions/connectors/mobility-work/signature.ts';
import {
  MW_WEBHOOK_ROUTE,
  mobilityWorkWebhook,
} from '../../../functions/connectors/mobility-work/webhook.ts';
import { once } from '../../../functions/core/claims.ts';
import { defineFlow, type FlowEvent } from '../../../functions/core/flow.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import { handleWebhook } from '../../../functions/runtime/ingress.ts';
import { createWorker } from '../../../functions/runtime/worker.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';
import { onEach, testTrigger } from '../../support/flows.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { RICH, SECRET_NAME } from '../mobility-work/fixtures.ts';

const SECRET = 'whsec_requests_0123456789';
const NOW = new Date('2026-11-02T09:00:00.000Z');
const COMPLETED = 'mobility-work.TaskWasCompleted';

let t: TestState;
/** `<Command> <item kind>` of every DynamoDB request since the last `take()`. */
let sent: string[] = [];

const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && 'S' in v ? String(v.S) : '';

function kindOf(input: Record<string, unknown>): string {
  const key = (input.Key ?? input.Item) as { pk?: unknown } | undefined;
  let pk = text(key?.pk);
  if (!pk && input.KeyConditionExpression) {
    pk = text((input.ExpressionAttributeValues as Record<string, unknown> | undefined)?.[':pk']);
  }
  if (!pk && input.RequestItems) {
    const [table] = Object.values(input.RequestItems as Record<string, unknown[]>);
    const kinds = (table ?? []).map((r) => {
      const item = (r as { PutRequest?: { Item?: { pk?: unknown } } }).PutRequest?.Item;
      return text(item?.pk).split('#')[0];
    });
    return [...new Set(kinds)].sort().join('+');
  }
  return pk.split('#')[0] ?? '?';
}

const take = () => {
  const out = sent;
  sent = [];
  return out;
};

beforeAll(async () => {
  t = await startTestState();
  t.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? '').replace(/(Item)?Command$/, '');
      // The test table's setup (waiting for it to be active), not a request of the event path.
      if (name === 'DescribeTable') return next(args);
      sent.push(`${name} ${kindOf(args.input as Record<string, unknown>)}`);
      return next(args);
    },
    { step: 'initialize', name: 'requestCounter' },
  );
});
afterAll(() => t.close());
beforeEach(() => {
  sent = [];
});

function env() {
  return testEnv(
    t.store(() => NOW),
    {
      now: () => NOW,
      vendors: { 'mobility-work': { secretName: SECRET_NAME } },
      secrets: staticSecretSource({ [SECRET_NAME]: { apiKey: 'k', webhookSecrets: [SECRET] } }),
    },
  );
}

function delivery(key: string) {
  const rawBody = JSON.stringify({ ...RICH.TaskWasCompleted, _idempotencyKey: key });
  const header = signMobilityWorkWebhook({
    secret: SECRET,
    scheme: 't.nonce.body',
    t: NOW.getTime() / 1000,
    nonce: randomBytes(20).toString('hex'),
    rawBody,
  });
  return {
    rawBody,
    headers: { 'x-mw-signature': header },
    pathParameters: {},
    query: {},
    receivedAt: NOW,
  };
}

/** One webhook through the ingress, routed to one queue (or none). */
async function ingest(key: string, routed = true) {
  const queue = recordingQueue();
  const e = env();
  // The secret is read once per process in Lambda (cached): warm it outside the count.
  const res = await handleWebhook(
    {
      receivers: [mobilityWorkWebhook],
      routing: routed ? { [COMPLETED]: ['q'] } : {},
      env: e,
      queue,
      maxBytes: 100_000,
    },
    MW_WEBHOOK_ROUTE,
    delivery(key),
  );
  return { res, queue };
}

/** A flow that performs one side effect under a claim (acts), or does nothing (skips). */
const flow = (id: string, acts: boolean) =>
  defineFlow({
    id,
    description: 'test',
    vendors: ['mobility-work'],
    config: z.object({}),
    triggers: [testTrigger([COMPLETED])],
    setup: () => undefined,
    on: onEach([COMPLETED], async (event: FlowEvent, ctx) => {
      if (!acts) return { outcome: 'skipped', message: 'nothing to do' };
      const { how } = await once(ctx.state, {
        key: `${id}:effect:${event.id}`,
        perform: async () => ({ workOrderId: 'WO-1' }),
      });
      return { outcome: how === 'performed' ? 'done' : 'duplicate', message: how };
    }),
  });

const work = (id: string, acts: boolean) =>
  createWorker({ flow: flow(id, acts), config: {}, env: env(), maxReceiveCount: 3 });

describe('DynamoDB requests per webhook event', () => {
  it('a one-flow event that acts: 1 at the ingress + 3 in the worker (claim, claim completed with its effect, run log) = 4', async () => {
    const { res, queue } = await ingest('acts-1');
    expect(res.statusCode).toBe(200);
    expect(take()).toEqual(['Put DELIVERY']);
    const [message] = queue.sent;
    const result = await work('flow-acts', true).processRecord(JSON.stringify(message?.event), 1);
    expect(result.outcome).toBe('done');
    expect(take()).toEqual(['Update CLAIM', 'Update CLAIM', 'BatchWrite EVENT+RUN+SUBJECT']);
  });

  it('a one-flow event that does nothing: 1 at the ingress + 1 run-log write', async () => {
    const { queue } = await ingest('skips-1');
    take();
    const [message] = queue.sent;
    const result = await work('flow-skips', false).processRecord(JSON.stringify(message?.event), 1);
    expect(result.outcome).toBe('skipped');
    expect(take()).toEqual(['BatchWrite EVENT+RUN+SUBJECT']);
  });

  it('a redelivery after a worker recorded the event: the mark read, one run-log look, nothing enqueued', async () => {
    const { queue: first } = await ingest('again-1');
    await work('flow-again', false).processRecord(JSON.stringify(first.sent[0]?.event), 1);
    take();
    const { res, queue } = await ingest('again-1');
    expect(JSON.parse(res.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(queue.sent).toEqual([]);
    expect(take()).toEqual(['Put DELIVERY', 'Get DELIVERY', 'Query EVENT']);
  });

  it('a redelivery before any worker recorded it: enqueued again once (the mark flag), never twice', async () => {
    await ingest('early-1');
    take();
    const second = await ingest('early-1');
    expect(JSON.parse(second.res.body)).toMatchObject({ enqueued: 1, duplicates: 0 });
    expect(take()).toEqual(['Put DELIVERY', 'Get DELIVERY', 'Query EVENT', 'Update DELIVERY']);
    const third = await ingest('early-1');
    expect(JSON.parse(third.res.body)).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(third.queue.sent).toEqual([]);
    expect(take()).toEqual([
      'Put DELIVERY',
      'Get DELIVERY',
      'Query EVENT',
      'Update DELIVERY',
      'Get DELIVERY',
    ]);
  });

  it('a duplicate in the worker: the claim found done (one read), then the run log', async () => {
    const { queue } = await ingest('dup-1');
    const body = JSON.stringify(queue.sent[0]?.event);
    const worker = work('flow-dup', true);
    await worker.processRecord(body, 1);
    take();
    const result = await worker.processRecord(body, 2);
    expect(result.outcome).toBe('duplicate');
    expect(take()).toEqual(['Update CLAIM', 'Get CLAIM', 'BatchWrite EVENT+RUN+SUBJECT']);
  });

  it('an event no flow subscribes to: no request at all', async () => {
    const { res } = await ingest('unrouted-1', false);
    expect(res.statusCode).toBe(200);
    expect(take()).toEqual([]);
  });
});
