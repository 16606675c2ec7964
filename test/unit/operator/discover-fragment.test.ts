/**
 * The config fragment `discover` prints: merged into the config, it keeps every existing mapping,
 * adds each discovered id, and is refused by the config's validation exactly where a value is still
 * to be filled in (the hints name those places); filled in, the config validates.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { validateDeployment } from '../../../functions/config/deployment.ts';
import type { DiscoveredList } from '../../../functions/core/connector.ts';
import { ConfigError } from '../../../functions/core/errors.ts';
import { flows as registry } from '../../../functions/flows/index.ts';
import { discoverFragment } from '../../../operator/discover.ts';
import type { FlowResources, Target } from '../../../operator/target.ts';

type Json = Record<string, unknown>;
const M1 = '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c';
const M2 = '5faa6680-fa0f-4e37-ba0b-09a46a945cef';
const M3 = 'f1e76e5f-a9cd-4ae0-9c63-48b78e3cf013';
const UPKEEP_FLOW = 'machinemetrics-downtime-to-upkeep-work-order';
const MW_FLOW = 'machinemetrics-downtime-to-mobility-work-task';
const CM_FLOW = 'machinemetrics-downtime-to-click-maint-work-order';

const rawConfig = (): Json => JSON.parse(readFileSync('config/default.json', 'utf8')) as Json;

/** A target over a config: only what the fragment reads (deployment and enabled flows). */
function targetFor(raw: Json): Target {
  const deployment = validateDeployment(raw, registry);
  const flows = new Map<string, FlowResources>(
    deployment.enabled.map(({ flow, config }) => [flow.id, { flow, config, queueUrl: '', dlqUrl: '' }]),
  );
  return { deployment, flows } as unknown as Target;
}

/** A deep merge, as the operator would paste the fragment (objects merge, other values replace). */
function merge(into: Json, patch: Json): Json {
  const out: Json = { ...into };
  for (const [key, value] of Object.entries(patch)) {
    const here = out[key];
    out[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof here === 'object' && here
        ? merge(here as Json, value as Json)
        : value;
  }
  return out;
}

const problemPaths = (raw: Json): string[] => {
  try {
    validateDeployment(raw, registry);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => p.path);
  }
};

const list = (kind: string, rows: Record<string, string>[]): DiscoveredList => ({
  kind,
  columns: Object.keys(rows[0] ?? {}),
  rows,
});

describe('machinemetrics fragment', () => {
  const machines = list('machines', [
    { id: M1, name: 'MACHINE 1' },
    { id: M2, name: 'MACHINE 2' },
    { id: M3, name: 'MACHINE 3' },
  ]);

  it('keeps every mapping, adds each unmapped machine with a value the config refuses, and hints it', () => {
    const raw = rawConfig();
    const { fragment, hints } = discoverFragment('machinemetrics', [machines], targetFor(raw));
    const flowsPart = (fragment as { flows: Record<string, { machines: Json }> }).flows;
    expect(Object.keys(flowsPart).sort()).toEqual([CM_FLOW, MW_FLOW, UPKEEP_FLOW]);
    expect(flowsPart[UPKEEP_FLOW]?.machines).toEqual({
      [M1]: { assetId: 'AssetMill01' },
      [M2]: { assetId: 'AssetLathe2' },
      [M3]: { assetId: '' },
    });
    expect(flowsPart[MW_FLOW]?.machines[M2]).toEqual({ equipment: '' });
    expect(flowsPart[CM_FLOW]?.machines[M1]).toEqual({ entityId: 0, assetId: 0 });
    expect(hints).toHaveLength(4);
    expect(hints).toContainEqual({
      path: `flows.${UPKEEP_FLOW}.machines.${M3}`,
      hint: 'MACHINE 3: assetId: an UpKeep asset id (millwright discover upkeep)',
    });

    // Pasted as is: refused exactly where a hint points.
    const merged = merge(raw, fragment as Json);
    const paths = problemPaths(merged);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(hints.some((h) => path.startsWith(h.path))).toBe(true);

    // Filled in: valid.
    const filled = structuredClone(merged) as { flows: Record<string, { machines: Record<string, Json> }> };
    const f = filled.flows;
    (f[UPKEEP_FLOW]?.machines[M3] as Json).assetId = 'AssetPress3';
    (f[MW_FLOW]?.machines[M2] as Json).equipment = 2510;
    for (const id of [M1, M3]) Object.assign(f[CM_FLOW]?.machines[id] ?? {}, { entityId: 1, assetId: 45 });
    expect(problemPaths(filled as unknown as Json)).toEqual([]);
  });

  it('builds nothing for flows that are not enabled', () => {
    const raw = rawConfig() as { flows: Record<string, Json> };
    for (const id of [UPKEEP_FLOW, MW_FLOW, CM_FLOW]) (raw.flows[id] as Json).enabled = false;
    expect(discoverFragment('machinemetrics', [machines], targetFor(raw))).toEqual({ hints: [] });
  });
});

describe('stock fragments', () => {
  it('upkeep: maps each part both ways with the same Mobility Work reference, existing ones kept', () => {
    const raw = rawConfig() as { flows: Record<string, Json> };
    (raw.flows['upkeep-part-low-to-mobility-work-stock'] as Json).parts = { PartBeltA42: 'MW-BELT-A42' };
    const parts = list('parts', [
      { id: 'PartBeltA42', name: 'Classic V-belt A42' },
      { id: 'PartSeal2210', name: 'Rotary shaft seal' },
    ]);
    const { fragment, hints } = discoverFragment('upkeep', [parts], targetFor(raw));
    expect(fragment).toEqual({
      flows: {
        'upkeep-part-low-to-mobility-work-stock': {
          parts: { PartBeltA42: 'MW-BELT-A42', PartSeal2210: 'PartSeal2210' },
        },
        'mobility-work-stock-alert-to-upkeep': {
          parts: { 'MW-BELT-A42': 'PartBeltA42', PartSeal2210: 'PartSeal2210' },
        },
      },
    });
    expect(hints).toEqual([]);
    expect(problemPaths(merge(raw, fragment as Json))).toEqual([]);
  });

  it('click-maint: pinned entities, stock parts keyed <entity>/<part> with the flow default reference', () => {
    const raw = rawConfig();
    const lists = [
      list('entities', [
        { id: '1', name: 'Plant' },
        { id: '2', name: 'Depot' },
      ]),
      list('parts', [
        { key: '1/101', entity: '1', id: '101', number: 'FL_A', stock: 'yes' },
        { key: '1/105', entity: '1', id: '105', number: '', stock: 'yes' },
        { key: '1/104', entity: '1', id: '104', number: '', stock: 'no' },
      ]),
    ];
    const { fragment } = discoverFragment('click-maint', lists, targetFor(raw));
    expect(fragment).toEqual({
      vendors: { 'click-maint': { entities: [1] } },
      flows: {
        'click-maint-part-low-to-mobility-work-stock': {
          parts: { '1/101': 'FL_A', '1/105': 'clickmaint-1-105' },
        },
      },
    });
    expect(problemPaths(merge(raw, fragment as Json))).toEqual([]);
  });

  it('mobility-work: the network id', () => {
    const id = '4d4b9269-db6b-4b8f-8577-d01ef451d291';
    const { fragment } = discoverFragment(
      'mobility-work',
      [list('network', [{ networkId: id, name: 'Plant' }])],
      targetFor(rawConfig()),
    );
    expect(fragment).toEqual({ vendors: { 'mobility-work': { networkId: id } } });
  });
});
