/** The ingress turns away bad webhooks (wrong token or secret, malformed, oversized) and enqueues nothing. */
import { postJson } from '../control.ts';
import type { DemoContext } from './context.ts';

export async function badWebhooks(ctx: DemoContext): Promise<void> {
  const { sandbox, check } = ctx;
  const webhookToken = ctx.secrets['millwright/upkeep']?.webhookToken;
  ctx.step('bad webhooks are rejected and enqueue nothing');
  const before = sandbox.enqueued.length;
  const badToken = await postJson(
    `${sandbox.ingressUrl}/webhooks/upkeep/wrong-token-0123456789abcdef0123456789`,
    {
      event: 'WORK_ORDER_UPDATED',
      data: { id: 'x' },
    },
  );
  check('wrong UpKeep URL token -> 401', badToken.status === 401, `HTTP ${badToken.status}`);
  const noSecret = await postJson(`${sandbox.ingressUrl}/webhooks/machinemetrics`, {
    event: 'machine.status.changed',
  });
  check(
    'MachineMetrics webhook without the secret -> 401',
    noSecret.status === 401,
    `HTTP ${noSecret.status}`,
  );
  const malformed = await fetch(`${sandbox.ingressUrl}/webhooks/upkeep/${webhookToken}`, {
    method: 'POST',
    body: '{"event": "WORK_ORDER_UPDATED", ',
  });
  check('malformed JSON -> 400', malformed.status === 400, `HTTP ${malformed.status}`);
  const huge = await fetch(`${sandbox.ingressUrl}/webhooks/upkeep/${webhookToken}`, {
    method: 'POST',
    body: JSON.stringify({ event: 'WORK_ORDER_UPDATED', data: { id: 'x', pad: 'x'.repeat(300_000) } }),
  });
  check('oversized body -> 413', huge.status === 413, `HTTP ${huge.status}`);
  check(
    'nothing was enqueued',
    sandbox.enqueued.length === before,
    `${sandbox.enqueued.length - before} enqueued`,
  );
}
