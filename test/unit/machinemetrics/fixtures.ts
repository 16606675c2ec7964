/** Shared fixtures for the MachineMetrics connector tests. */
import type { RuntimeEnv } from '../../../functions/core/flow.ts';
import { silentLog } from '../../../functions/core/log.ts';
import type { SecretSource } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';

export const MACHINE_1 = '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c';
export const MACHINE_2 = '5faa6680-fa0f-4e37-ba0b-09a46a945cef';
export const MACHINE_3 = 'f1e76e5f-a9cd-4ae0-9c63-48b78e3cf013';
export const SECRET_NAME = 'millwright/machinemetrics';

/** The downtime report "Response 200 sample" of the vendor doc (reference §3.3), verbatim. */
export const DOC_DOWNTIME_RESPONSE = {
  range: { start: '2017-07-19T10:00:00.000Z', end: '2017-08-19T10:00:00.000Z' },
  aggregate: { downtimeMs: 7644699, recordCount: 8 },
  entities: {
    reason: {
      '33': { id: 33, name: 'Chipping Out', color: '#dea638' },
      '95': { id: 95, name: 'Part Changeover', color: '#de7020' },
      uncategorized: { id: 'uncategorized', name: 'Uncategorized', color: '#444444', virtual: true },
      setup: { id: 'setup', name: 'Setup', color: '#edde00', virtual: true },
    },
    machine: {
      [MACHINE_1]: { id: MACHINE_1, name: 'MACHINE 1' },
      [MACHINE_2]: { id: MACHINE_2, name: 'MACHINE 2' },
      [MACHINE_3]: { id: MACHINE_3, name: 'MACHINE 3' },
    },
  },
  items: [
    {
      entity: { type: 'reason', id: '33' },
      aggregate: { downtimeMs: 1731898, recordCount: 4 },
      items: [
        { entity: { type: 'machine', id: MACHINE_1 }, aggregate: { downtimeMs: 544259, recordCount: 2 } },
        { entity: { type: 'machine', id: MACHINE_2 }, aggregate: { downtimeMs: 837607, recordCount: 1 } },
        { entity: { type: 'machine', id: MACHINE_3 }, aggregate: { downtimeMs: 350032, recordCount: 1 } },
      ],
    },
    {
      entity: { type: 'reason', id: '95' },
      aggregate: { downtimeMs: 5912801, recordCount: 4 },
      items: [
        { entity: { type: 'machine', id: MACHINE_3 }, aggregate: { downtimeMs: 5912801, recordCount: 4 } },
      ],
    },
  ],
};

/** A SecretSource whose value can change (key rotation); records every read and its options. */
export function mutableSecrets(initial: Record<string, unknown>) {
  const values = { ...initial };
  const reads: { name: string; refresh: boolean }[] = [];
  const source: SecretSource = {
    async getJson(name, options) {
      reads.push({ name, refresh: options?.refresh ?? false });
      return values[name];
    },
  };
  return { source, reads, set: (name: string, value: unknown) => (values[name] = value) };
}

export function testEnv(overrides: Partial<RuntimeEnv> & { vendors: RuntimeEnv['vendors'] }): RuntimeEnv {
  return {
    secrets: overrides.secrets ?? mutableSecrets({}).source,
    state: overrides.state ?? ({} as StateStore),
    log: overrides.log ?? silentLog,
    now: overrides.now ?? (() => new Date('2026-11-02T08:00:00.000Z')),
    vendors: overrides.vendors,
  };
}

export interface FetchCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fake fetch answering from a queue of responses; records each call. */
export function queuedFetch(responses: { status: number; body: unknown }[]) {
  const calls: FetchCall[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>));
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    });
    const next = responses.shift();
    if (!next) throw new Error('queuedFetch: no response left');
    return new Response(typeof next.body === 'string' ? next.body : JSON.stringify(next.body), {
      status: next.status,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
  return { fetch: fetchFn, calls };
}
