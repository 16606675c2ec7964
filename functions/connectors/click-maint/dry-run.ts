/**
 * Click Maint in a dry run: writes answered as Click Maint answers them (`{status: 'success',
 * data}`). A created work order gets an id from 900000001 up (ids are integers); a work-order PATCH
 * and the part stock actions answer the record they would change, read from Click Maint, with the
 * change applied (restock adds, reconcile adds its delta).
 */
import type { ConnectorDryRun, DryRunAnswer } from '../../core/connector.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

let created = 900_000_000;
const ok = (data: unknown): DryRunAnswer => ({ status: 200, body: { status: 'success', data } });
const now = () => `${new Date().toISOString().slice(0, 19)}Z`;
/** The work-order fields Click Maint echoes as they were sent (ids become objects we cannot name). */
const ECHOED = ['title', 'description', 'priority', 'type', 'due_date', 'completed_at'];
const echoed = (fields: Json): Json =>
  Object.fromEntries(ECHOED.filter((k) => k in fields).map((k) => [k, fields[k]]));

async function current(read: (url: string | URL) => Promise<unknown>, url: URL | string): Promise<Json> {
  const answer = await read(url);
  return isObject(answer) && isObject(answer.data) ? answer.data : {};
}

export const clickMaintDryRun: ConnectorDryRun = {
  async respond({ method, url, body }, read) {
    const path = url.pathname;
    const fields = isObject(body) ? body : {};
    const workOrder = isObject(fields.work_order) ? fields.work_order : fields;
    if (method === 'POST' && /\/work_orders\/?$/.test(path)) {
      return ok({ id: ++created, status: null, ...echoed(workOrder), created_at: now(), updated_at: now() });
    }
    if (method === 'PATCH' && /\/work_orders\/\d+\/?$/.test(path)) {
      return ok({ ...(await current(read, url)), ...echoed(workOrder), updated_at: now() });
    }
    const stock = /^(.*\/parts\/\d+)\/(restock|reconcile)\/?$/.exec(path);
    if (method === 'PATCH' && stock) {
      const part = await current(read, new URL(stock[1] as string, url));
      const delta = typeof fields.quantity === 'number' ? fields.quantity : 0;
      const onHand = typeof part.on_hand_qty === 'number' ? part.on_hand_qty : 0;
      return ok({ ...part, on_hand_qty: onHand + delta, updated_at: now() });
    }
    return ok({});
  },
};
