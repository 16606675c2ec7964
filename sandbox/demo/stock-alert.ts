/**
 * mobility-work-stock-alert-to-upkeep: a part low in Mobility Work becomes one UpKeep purchase order
 * per low episode; redelivered and forged alerts change nothing.
 */
import { signMobilityWorkWebhook } from '../../functions/connectors/mobility-work/signature.ts';
import { FLOW_ID as ALERT_FLOW } from '../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { PARTS } from '../control.ts';
import { type DemoContext, MINUTE } from './context.ts';
import { purchaseOrdersFor } from './lookups.ts';

export async function stockAlert(ctx: DemoContext): Promise<void> {
  const { sandbox, check, step } = ctx;
  const { mobilityWorkPart } = ctx.control;
  ctx.section(ALERT_FLOW);
  step('a planner uses 2 x V-belt A42 in Mobility Work (3 -> 1; minimum 2)');
  await mobilityWorkPart(PARTS.belt, 'consume', 2);
  await sandbox.settle();
  let pos = purchaseOrdersFor(ctx, PARTS.belt);
  check(
    'one UpKeep purchase order (awaiting approval) for the part',
    pos.length === 1,
    `found ${pos.length}`,
  );
  check('it orders the part', (pos[0]?.parts[0]?.quantity ?? 0) >= 1 && pos[0]?.status === 'awaiting');

  step('the belt runs out (1 -> 0): the same low episode');
  await mobilityWorkPart(PARTS.belt, 'consume', 1);
  await sandbox.settle();
  check('still one purchase order', purchaseOrdersFor(ctx, PARTS.belt).length === 1);

  await alertRedeliveries(ctx);

  step('restocked in Mobility Work (+10 -> 10), then used again down to 1: a new low episode');
  // Mobility Work stamps its events to the second: the flow orders a part's events by that time.
  sandbox.clock.advance(MINUTE);
  await mobilityWorkPart(PARTS.belt, 'restock', 10);
  await sandbox.settle();
  sandbox.clock.advance(MINUTE);
  await mobilityWorkPart(PARTS.belt, 'consume', 9);
  await sandbox.settle();
  pos = purchaseOrdersFor(ctx, PARTS.belt);
  check('a second purchase order, for the second episode', pos.length === 2, `found ${pos.length}`);
}

/** The alert delivered again (same `_idempotencyKey`, same nonce), then replayed, stale and forged. */
async function alertRedeliveries(ctx: DemoContext): Promise<void> {
  const { sandbox, check } = ctx;
  ctx.step('Mobility Work sends a delivery again (same _idempotencyKey), and forged ones arrive');
  const alert = sandbox.enqueued.find(
    (e) => e.event.type === 'mobility-work.SparePartStockWasUnderMinThreshold',
  );
  const mwSecret = (ctx.secrets['millwright/mobility-work'] as unknown as { webhookSecrets: string[] })
    .webhookSecrets[0] as string;
  const deliver = (body: string, t: number, nonce: string, secret = mwSecret) =>
    fetch(`${sandbox.ingressUrl}/webhooks/mobility-work`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-mw-signature': signMobilityWorkWebhook({
          secret,
          scheme: 't.nonce.body',
          t,
          nonce,
          rawBody: body,
        }),
      },
      body,
    });
  const body = JSON.stringify(alert?.event.data ?? {});
  const now = Math.floor(ctx.clock.now().getTime() / 1000);
  const beforeRetry = sandbox.enqueued.length;
  const again = await deliver(body, now, 'a'.repeat(40));
  check('the redelivery is acknowledged with 200', again.status === 200, `HTTP ${again.status}`);
  check('and not enqueued again', sandbox.enqueued.length === beforeRetry);
  const exact = await deliver(body, now, 'a'.repeat(40));
  check(
    'the exact same delivery again (our 200 was lost) -> 200, nothing enqueued',
    exact.status === 200 && sandbox.enqueued.length === beforeRetry,
    `HTTP ${exact.status}`,
  );
  // A delivery's body changed under its used nonce: a replay. (The nonce is kept in the delivery's
  // mark; another delivery signed with a used nonce would need the secret.)
  const data = alert?.event.data ?? {};
  const first = await deliver(
    JSON.stringify({ ...data, _idempotencyKey: 'demo-nonce' }),
    now,
    'd'.repeat(40),
  );
  const replayed = JSON.stringify({ ...data, _idempotencyKey: 'demo-nonce', _metadata: 'changed' });
  const replay = await deliver(replayed, now, 'd'.repeat(40));
  check('a new delivery is accepted', first.status === 200, `HTTP ${first.status}`);
  check(
    'the same delivery, another body, its used nonce -> 401',
    replay.status === 401,
    `HTTP ${replay.status}`,
  );
  const stale = await deliver(body, now - 3600, 'b'.repeat(40));
  check('a timestamp an hour old -> 401', stale.status === 401, `HTTP ${stale.status}`);
  const forged = await deliver(body, now, 'c'.repeat(40), 'not-the-secret');
  check('a wrong signing key -> 401', forged.status === 401, `HTTP ${forged.status}`);
}
