/**
 * The sandbox's side for the console: what the simulators hold (work orders, purchase orders,
 * tasks, stock, machines) and the controls a newcomer presses (machine down/up, consume a part),
 * over the simulators' own control routes (`/_sandbox/...`, the ones sandbox/control.ts and the
 * demo use), found from the sandbox's endpoints. Reads the simulators only, never the flows' state:
 * the runs the controls cause are read through the operator layer like any other.
 */
import { MillwrightError } from '../functions/core/errors.ts';
import type { Target } from '../operator/target.ts';
import { ConsoleApiError } from './params.ts';

export interface SandboxRecord {
  /** The simulator it is in. */
  vendor: string;
  id: string;
  title: string;
  status?: string;
  /** The asset, machine or equipment it is about. */
  asset?: string;
  /** ISO. */
  createdAt?: string;
}

export interface SandboxView {
  machines: { id: string; name: string; mapped: boolean; down: boolean; downSince?: string }[];
  parts: {
    id: string;
    name: string;
    upkeepQuantity?: number;
    mobilityWorkStock?: number;
    minimum?: number;
  }[];
  workOrders: SandboxRecord[];
  purchaseOrders: SandboxRecord[];
  tasks: SandboxRecord[];
}

export interface SandboxConsole {
  view(): Promise<SandboxView>;
  machine(id: string, action: 'down' | 'up'): Promise<{ message: string }>;
  consume(partId: string, quantity: number): Promise<{ message: string }>;
}

/** A simulator did not answer as its control API says. */
export class SimulatorControlError extends MillwrightError {}

// Loose readings of the simulators' state documents (each simulator's own shape).
type Doc = Record<string, unknown>;
const list = (doc: Doc | undefined, key: string): Doc[] =>
  Array.isArray(doc?.[key]) ? (doc?.[key] as Doc[]) : [];
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
/** The first line of a long text, cut for a table cell. */
const excerpt = (text: string | undefined, max = 100) => {
  const line = (text ?? '').split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};
const isoOf = (v: unknown): string | undefined => {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
};
const newestFirst = (a: SandboxRecord, b: SandboxRecord) =>
  (b.createdAt ?? '').localeCompare(a.createdAt ?? '');

function record(vendor: string, fields: Omit<SandboxRecord, 'vendor'>): SandboxRecord {
  return Object.fromEntries(
    Object.entries({ vendor, ...fields }).filter(([, v]) => v !== undefined),
  ) as unknown as SandboxRecord;
}

/** The console's sandbox side for a sandbox target (undefined for a deployed stack). */
export function sandboxConsole(target: Target): SandboxConsole | undefined {
  const endpoints = target.endpoints;
  if (target.kind !== 'sandbox' || !endpoints) return undefined;
  /** A simulator's control routes live at its server's root, whatever its API base path. */
  const root = (vendor: string) => (endpoints[vendor] ? new URL(endpoints[vendor]).origin : undefined);

  async function call(vendor: string, path: string, body?: unknown): Promise<Doc | undefined> {
    const base = root(vendor);
    if (!base) return undefined;
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new SimulatorControlError(`the ${vendor} simulator is not answering at ${base}`, {
        cause: error,
      });
    }
    const text = await res.text();
    let json: Doc | undefined;
    try {
      json = JSON.parse(text) as Doc;
    } catch {
      json = undefined;
    }
    if (res.status === 404) throw new ConsoleApiError(404, `${vendor} simulator: ${errorText(json, text)}`);
    if (!res.ok) throw new ConsoleApiError(400, `${vendor} simulator: ${errorText(json, text)}`);
    return json;
  }
  const state = (vendor: string) => call(vendor, '/_sandbox/state');

  /** Machines some enabled flow maps (its config's `machines`), e.g. to an UpKeep asset. */
  const mappedMachines = new Set(
    target.deployment.enabled.flatMap(({ config }) => {
      const machines = (config as { machines?: unknown }).machines;
      return typeof machines === 'object' && machines !== null ? Object.keys(machines) : [];
    }),
  );

  return {
    async view() {
      const [mm, upkeep, mw, cm, dm] = await Promise.all(
        ['machinemetrics', 'upkeep', 'mobility-work', 'click-maint', 'deepomatic'].map(state),
      );
      const open = list(mm, 'records').filter((r) => r.end === null || r.end === undefined);
      const machines = list(mm, 'machines').map((m) => {
        const id = str(m.id) ?? '';
        const since = open.find((r) => r.machineId === id);
        return {
          id,
          name: str(m.name) ?? id,
          mapped: mappedMachines.has(id),
          down: since !== undefined,
          ...(since && str(since.start) ? { downSince: str(since.start) } : {}),
        };
      });
      const partsById = new Map<string, SandboxView['parts'][number]>();
      for (const p of list(upkeep, 'parts')) {
        const id = str(p.id) ?? '';
        partsById.set(id, {
          id,
          name: str(p.name) ?? id,
          ...(num(p.quantity) !== undefined ? { upkeepQuantity: num(p.quantity) } : {}),
          ...(num(p.minimumQuantity) !== undefined ? { minimum: num(p.minimumQuantity) } : {}),
        });
      }
      for (const s of list(mw, 'spareParts')) {
        const id = str(s.externalReference) ?? str(s.id) ?? '';
        const known = partsById.get(id);
        partsById.set(id, {
          id,
          name: known?.name ?? str(s.name) ?? id,
          ...known,
          ...(num(s.stock) !== undefined ? { mobilityWorkStock: num(s.stock) } : {}),
          ...(known?.minimum === undefined && num(s.minimumStock) !== undefined
            ? { minimum: num(s.minimumStock) }
            : {}),
        });
      }
      const workOrders = [
        ...list(upkeep, 'workOrders').map((w) =>
          record('upkeep', {
            id: str(w.id) ?? '',
            title: excerpt(str(w.title)),
            status: str(w.status),
            asset: str(w.asset),
            createdAt: isoOf(w.createdAt),
          }),
        ),
        ...list(cm, 'workOrders').map((w) =>
          record('click-maint', {
            id: str(w.id) ?? '',
            title: excerpt(str(w.title)),
            status: str(w.status_id) ? `status ${str(w.status_id)}` : undefined,
            asset: str(w.asset_id),
            createdAt: isoOf(w.created_at),
          }),
        ),
        ...list(dm, 'workOrders').map((w) =>
          record('deepomatic', {
            id: str(w.id) ?? '',
            title: excerpt(str(w.name)),
            status: w.review_date
              ? 'reviewed'
              : num(w.progress_score) !== undefined
                ? `in progress (${num(w.progress_score)}%)`
                : undefined,
            createdAt: isoOf(w.create_date),
          }),
        ),
      ].sort(newestFirst);
      const purchaseOrders = list(upkeep, 'purchaseOrders')
        .map((p) =>
          record('upkeep', {
            id: str(p.id) ?? '',
            title: excerpt(str(p.title)),
            status: str(p.status),
            createdAt: isoOf(p.createdAt ?? p.poDate),
          }),
        )
        .sort(newestFirst);
      const tasks = list(mw, 'tasks')
        .map((t) =>
          record('mobility-work', {
            id: str(t.id) ?? '',
            title: excerpt(str(t.description)),
            status: str(t.state),
            asset: str((t.equipment as Doc | undefined)?.name),
            createdAt: isoOf(t.createdAt),
          }),
        )
        .sort(newestFirst);
      return { machines, parts: [...partsById.values()], workOrders, purchaseOrders, tasks };
    },

    async machine(id, action) {
      if (!root('machinemetrics')) throw new ConsoleApiError(404, 'no MachineMetrics simulator here');
      // No `at`: the simulator stamps it with its own clock (the sandbox's).
      const out = await call('machinemetrics', `/_sandbox/machines/${encodeURIComponent(id)}/${action}`, {});
      const start = str((out?.record as Doc | undefined)?.start) ?? str(out?.start);
      return {
        message:
          action === 'down'
            ? `Machine ${id} is down${start ? ` since ${start}` : ''}: the downtime flows see it on their next MachineMetrics poll, and create their work orders and tasks once it has been down long enough.`
            : `Machine ${id} runs again: on their next poll the downtime flows close or annotate what they opened.`,
      };
    },

    async consume(partId, quantity) {
      const upkeep = await state('upkeep');
      const inUpkeep = list(upkeep, 'parts').some((p) => p.id === partId);
      if (inUpkeep) {
        const out = await call('upkeep', `/_sandbox/parts/${encodeURIComponent(partId)}/consume`, {
          quantity,
        });
        const left = num((out?.part as Doc | undefined)?.quantity);
        return {
          message: `Took ${quantity} of ${partId} from UpKeep's store room${left !== undefined ? ` (${left} left)` : ''}: the UpKeep parts poll sees it on its next run.`,
        };
      }
      const mw = await state('mobility-work');
      if (!list(mw, 'spareParts').some((s) => s.externalReference === partId)) {
        throw new ConsoleApiError(404, `no part ${partId} in the UpKeep or Mobility Work simulator`);
      }
      await call('mobility-work', `/_sandbox/spare-parts/${encodeURIComponent(partId)}/consume`, {
        quantity,
      });
      return {
        message: `Took ${quantity} of ${partId} from Mobility Work's stock: Mobility Work sends its stock webhooks to the flows.`,
      };
    },
  };
}

function errorText(json: Doc | undefined, text: string): string {
  const e = json?.error ?? json?.message;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof (e as Doc).message === 'string')
    return (e as Doc).message as string;
  return text.slice(0, 200) || 'no answer';
}
