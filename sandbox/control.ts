/**
 * Driving the sandbox the way the real world would: machines stop and start, operators
 * categorise, vendors misbehave, time passes. Shared by `npm run demo` and the integration tests.
 */
import type { Sandbox } from './runtime.ts';

export const MACHINES = {
  one: '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c',
  two: '5faa6680-fa0f-4e37-ba0b-09a46a945cef',
  /** Not mapped to an UpKeep asset in config/default.json. */
  three: 'f1e76e5f-a9cd-4ae0-9c63-48b78e3cf013',
} as const;

/** Parts seeded in both the UpKeep and the Mobility Work simulators (same id / external reference). */
export const PARTS = {
  bearing: 'PartBearing6204',
  belt: 'PartBeltA42',
  filter: 'PartFilterHF35',
  seal: 'PartSeal2210',
} as const;

export interface WorkOrderView {
  id: string;
  title: string;
  description?: string | null;
  asset?: string | null;
  status: string;
}

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

export function sandboxControl(sandbox: Sandbox) {
  const mm = sandbox.simulators.machinemetrics?.url ?? '';
  const upkeep = sandbox.simulators.upkeep?.url ?? '';
  const mw = sandbox.simulators['mobility-work']?.url ?? '';
  const upkeepState = async () =>
    (await (await fetch(`${upkeep}/_sandbox/state`)).json()) as {
      workOrders: WorkOrderView[];
      assets: { id: string; downtimeStatus?: string }[];
    };
  return {
    /** A machine event in the MachineMetrics simulator, at the sandbox clock's now. */
    machine: (id: string, action: 'down' | 'up' | 'categorize', body: Record<string, unknown> = {}) =>
      postJson(`${mm}/_sandbox/machines/${id}/${action}`, { at: sandbox.clock.now().toISOString(), ...body }),
    /**
     * A person creates a work order in UpKeep through its API, signed in as the sandbox's UpKeep
     * user, so UpKeep's webhook for it fires (a `category` of "Photo validation" reaches the
     * Deepomatic flow). Its id.
     */
    upkeepWorkOrder: async (body: { title: string; category?: string }): Promise<string> => {
      const api = sandbox.simulators.upkeep?.baseUrl ?? '';
      const secretName =
        (sandbox.deployment.vendors as Record<string, { secretName?: string } | undefined>).upkeep
          ?.secretName ?? 'millwright/upkeep';
      const { email, password } = (sandbox.secrets.get(secretName) ?? {}) as {
        email?: string;
        password?: string;
      };
      const auth = await postJson(`${api}/auth`, { email, password });
      const token = ((await auth.json()) as { result: { sessionToken: string } }).result.sessionToken;
      const res = await postJson(`${api}/work-orders/`, body, { 'session-token': token });
      return ((await res.json()) as { result: { id: string } }).result.id;
    },
    /** Queue a fault in the UpKeep simulator (see sandbox/simulators/server.ts Fault). */
    upkeepFault: (fault: Record<string, unknown>) => postJson(`${upkeep}/_sandbox/faults`, fault),
    clearUpkeepFaults: () => fetch(`${upkeep}/_sandbox/faults`, { method: 'DELETE' }),
    workOrdersFor: async (assetId: string) =>
      (await upkeepState()).workOrders.filter((w) => w.asset === assetId),
    assetStatus: async (assetId: string) =>
      (await upkeepState()).assets.find((a) => a.id === assetId)?.downtimeStatus,
    /**
     * Let `minutes` pass, run the scheduler once, and process everything until the sandbox is quiet
     * (within `settleTimeoutMs` per drain, default 60 s: large backlogs on a busy machine need more).
     */
    advance: async (minutes: number, settleTimeoutMs?: number) => {
      sandbox.clock.advance(minutes * 60_000);
      const polls = await sandbox.tick();
      await sandbox.settle(settleTimeoutMs ? { timeoutMs: settleTimeoutMs } : {});
      return polls;
    },
    /** A store-room change in UpKeep (what a technician taking parts does). */
    upkeepPart: (id: string, action: 'consume' | 'restock', quantity: number) =>
      postJson(`${upkeep}/_sandbox/parts/${id}/${action}`, { quantity }),
    /** A stock change made by a user in Mobility Work (sends Mobility Work's stock webhooks). */
    mobilityWorkPart: (ref: string, action: 'consume' | 'restock' | 'recount', quantity: number) =>
      postJson(`${mw}/_sandbox/spare-parts/${ref}/${action}`, { quantity }),
    /** A planner starts / completes / cancels, in Mobility Work, the task whose metadata[key] = value. */
    mobilityWorkTask: (action: 'start' | 'complete' | 'cancel', key: string, value: string) =>
      postJson(`${mw}/_sandbox/tasks/by-metadata/${action}`, { key, value }),
  };
}
