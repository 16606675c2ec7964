/**
 * Outgoing webhooks: every event the network produces is logged; on a plan with webhooks and a
 * configured target it is delivered through one sequential queue (so per-part order holds), signed
 * with `X-MW-Signature`, 3 attempts `retryDelayMs` apart, success only on HTTP 200.
 */
import { randomBytes } from 'node:crypto';
import { signMobilityWorkWebhook } from '../signature.ts';
import type {
  MobilityWorkWebhookTarget,
  MwSimDelivery,
  MwSimEvent,
  MwSimEventName,
  MwSimPayload,
  MwSimSparePart,
  MwSimUser,
} from './types.ts';
import { logTo, type MobilityWorkWorld } from './world.ts';

export const MW_SIM_WEBHOOK_USER_AGENT = 'Mobility Work - Webhook Service v1';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 10 alphanumeric characters, like the doc's `i6WeIdxywu`. */
export function mwIdempotencyKey(): string {
  let out = '';
  for (const b of randomBytes(10)) out += ALNUM[b % ALNUM.length];
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function deliver(
  world: MobilityWorkWorld,
  target: MobilityWorkWebhookTarget,
  n: number,
  event: MwSimEvent,
): Promise<void> {
  const rawBody = JSON.stringify(event.payload);
  const retryDelayMs = target.retryDelayMs ?? 50;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const nonce = randomBytes(20).toString('hex');
    const record: MwSimDelivery = {
      delivery: n,
      event: event.event,
      idempotencyKey: event.payload._idempotencyKey,
      subject: event.subject,
      attempt,
      nonce,
      outcome: 'retrying',
    };
    logTo(world, world.deliveries, record);
    if (world.closed) {
      record.error = 'simulator closed';
      record.outcome = 'failed';
      return;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': MW_SIM_WEBHOOK_USER_AGENT,
    };
    if (target.secret) {
      headers['X-MW-Signature'] = signMobilityWorkWebhook({
        secret: target.secret,
        scheme: target.scheme,
        t: Math.floor(world.config.clock.now().getTime() / 1000),
        nonce,
        rawBody,
      });
    }
    try {
      const res = await world.config.fetch(target.url, {
        method: 'POST',
        headers,
        body: rawBody,
        signal: AbortSignal.timeout(target.timeoutMs ?? 5_000),
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      // "must respond with the HTTP code 200, otherwise ... marked as failed": exactly 200.
      if (res.status === 200) {
        record.outcome = 'delivered';
        return;
      }
      record.error = `HTTP ${res.status}`;
    } catch (error) {
      record.error = (error as Error)?.message ?? String(error);
    }
    if (attempt === 3) {
      record.outcome = 'failed';
      return;
    }
    await sleep(retryDelayMs);
  }
}

export function emit(
  world: MobilityWorkWorld,
  event: MwSimEventName,
  subject: string,
  fields: Record<string, unknown>,
): void {
  const { networkId, plan, webhook: target } = world.config;
  const payload = {
    _event: event,
    _idempotencyKey: mwIdempotencyKey(),
    ...fields,
    networkId,
  } as MwSimPayload;
  const sent = target !== undefined && plan !== 'starter';
  const record: MwSimEvent = { event, subject, sent, payload };
  logTo(world, world.events, record);
  if (!sent) return;
  const n = ++world.deliveryCounter;
  world.queue = world.queue.then(() => deliver(world, target, n, record)).catch(() => undefined);
}

/** How a payload names a spare part. */
export const partRef = (part: MwSimSparePart) => ({
  id: part.id,
  externalReference: part.externalReference,
  name: part.name,
});

/** How a payload names a user. */
export const userRef = (user: MwSimUser) => ({ id: user.id, email: user.email, name: user.name });
