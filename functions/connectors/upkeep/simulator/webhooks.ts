/** Outgoing webhook delivery: one POST per event to `options.webhook.url`, retried once. */
import type { UpKeepWorld } from './state.ts';

/** Work-order, purchase-order and request events (UpKeep has none for parts, reference §4). */
export function deliverWebhook(world: UpKeepWorld, event: string, objectId: string, record: unknown): void {
  const target = world.options.webhook?.url;
  if (!target) return;
  const fetchFn = world.options.fetch ?? fetch;
  const ids = event.startsWith('WORK_ORDER_') ? { objectId, workOrderId: objectId } : { objectId };
  // Payload shape is undocumented (reference §4); an envelope with the record as GET returns it.
  const body = JSON.stringify({ event, data: record });
  const run = async () => {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const res = await fetchFn(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        world.deliveries.push({ event, ...ids, attempt, status: res.status });
        if (res.ok) return;
      } catch (error) {
        world.deliveries.push({
          event,
          ...ids,
          attempt,
          error: (error as Error)?.message ?? String(error),
        });
      }
    }
  };
  const p: Promise<void> = run()
    .catch(() => undefined)
    .finally(() => {
      world.pending.delete(p);
    });
  world.pending.add(p);
}

/** Resolves when every webhook delivery started so far has finished (including its retry). */
export async function flushWebhooks(world: UpKeepWorld): Promise<void> {
  while (world.pending.size > 0) await Promise.all([...world.pending]);
}
