/**
 * UpKeep in a dry run: the session login (`POST /auth/`) only reads, so it is sent; every other
 * write is answered the way UpKeep answers it (`{success: true, result}`), so the client parses it:
 * a create echoes the body with a `dry-run-N` id and timestamps, a PATCH answers the record it
 * would change (read from UpKeep) with the body applied.
 */
import type { ConnectorDryRun, DryRunAnswer } from '../../core/connector.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

let created = 0;
const dryRunId = () => `dry-run-${++created}`;
const ok = (result: unknown): DryRunAnswer => ({ status: 200, body: { success: true, result } });
const stamped = (record: Json): Json => {
  const now = new Date().toISOString();
  return { id: dryRunId(), ...record, createdAt: now, updatedAt: now };
};

/** A purchase order's `parts: [{id, quantity}]` as UpKeep returns them: ids plus `partQuantities`. */
function purchaseOrder(body: Json): Json {
  const lines = Array.isArray(body.parts) ? (body.parts as Json[]) : undefined;
  const { parts: _parts, ...rest } = body;
  return {
    status: 'awaiting',
    ...rest,
    ...(lines ? { parts: lines.map((l) => l.id), partQuantities: lines.map((l) => l.quantity) } : {}),
  };
}

export const upkeepDryRun: ConnectorDryRun = {
  passThrough: ({ method, url }) => method === 'POST' && /\/auth\/?$/.test(url.pathname),
  async respond({ method, url, body }, read) {
    const path = url.pathname;
    const fields = isObject(body) ? body : {};
    if (method === 'PATCH') {
      const current = await read(url);
      const result = isObject(current) && isObject(current.result) ? current.result : {};
      return ok({ ...result, ...fields, updatedAt: new Date().toISOString() });
    }
    if (method === 'POST' && /\/work-orders\/?$/.test(path))
      return ok(stamped({ status: 'open', ...fields }));
    if (method === 'POST' && /\/purchase-orders\/?$/.test(path)) return ok(stamped(purchaseOrder(fields)));
    if (method === 'POST' && /\/requests\/?$/.test(path)) return ok(stamped(fields));
    if (method === 'POST' && /\/assets\/downtime\/?$/.test(path)) {
      const rows = Array.isArray(body) ? (body as Json[]) : [];
      return {
        status: 200,
        body: { success: true, results: rows.map((row, i) => ({ ...row, row: i + 1 })) },
      };
    }
    return ok(stamped(fields));
  },
};
