/**
 * `millwright discover <vendor>`: the ids an operator needs for the config mappings, read from the
 * configured account through the connector's `discover`, plus a config fragment built from them and
 * the enabled flows' current config: the maps the flows key by these ids, every discovered id in
 * them, existing mappings kept. It is valid JSON to merge into the config file (deep merge, under
 * `flows` / `vendors`). Unmapped entries hold a value the config refuses (`""`, `0`), so a fragment
 * pasted without filling them in fails validation instead of mapping a machine to nothing; `hints`
 * names each of them.
 */
import { connectorById, connectors } from '../functions/connectors/index.ts';
import type { AnyConnector, DiscoveredList } from '../functions/core/connector.ts';
import { MillwrightError } from '../functions/core/errors.ts';
import { type Log, silentLog } from '../functions/core/log.ts';
import { closestKey } from '../functions/core/schema.ts';
import type { FlowResources, Target } from './target.ts';

export type { DiscoveredList };

export class UnknownVendorError extends MillwrightError {}
/** The vendor's API cannot list what the config needs; the message says why. */
export class DiscoverUnavailableError extends MillwrightError {}
/** The target's config has no `vendors.<id>` block. */
export class VendorNotConfiguredError extends MillwrightError {}
/** The vendor's API answered with an error (the cause). */
export class DiscoverFailedError extends MillwrightError {}

/** One entry of the fragment that still needs a value. */
export interface FragmentHint {
  /** Dotted config path of the value to fill in. */
  path: string;
  hint: string;
}

export interface DiscoverResult {
  vendor: string;
  /** The vendor's name for people. */
  name: string;
  lists: DiscoveredList[];
  /** Config to merge into the config file; undefined when no enabled flow takes these ids. */
  fragment?: Record<string, unknown>;
  hints: FragmentHint[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const rowsOf = (lists: readonly DiscoveredList[], kind: string) =>
  lists.find((l) => l.kind === kind)?.rows ?? [];

/** The value a downtime flow's `machines` entry needs, as a placeholder the config refuses. */
const MACHINE_PLACEHOLDERS: Record<string, { value: Json; from: string }> = {
  'machinemetrics-downtime-to-upkeep-work-order': {
    value: { assetId: '' },
    from: 'assetId: an UpKeep asset id (millwright discover upkeep)',
  },
  'machinemetrics-downtime-to-mobility-work-task': {
    value: { equipment: '' },
    from: 'equipment: a Mobility Work equipment native id (number) or item code (string)',
  },
  'machinemetrics-downtime-to-click-maint-work-order': {
    value: { entityId: 0, assetId: 0 },
    from: 'entityId and assetId: a Click Maint entity and asset id (millwright discover click-maint)',
  },
};

interface FragmentParts {
  flows: Record<string, Json>;
  vendors: Record<string, Json>;
  hints: FragmentHint[];
}

type FragmentBuilder = (lists: readonly DiscoveredList[], target: Target, parts: FragmentParts) => void;

const configOf = (target: Target, flowId: string): Json | undefined => {
  const flow: FlowResources | undefined = target.flows.get(flowId);
  return flow && isObject(flow.config) ? flow.config : undefined;
};

/** A string-to-string map of a flow's config (`parts`), or {}. */
const stringMap = (config: Json | undefined, key: string): Record<string, string> =>
  isObject(config?.[key]) ? (config[key] as Record<string, string>) : {};

const BUILDERS: Record<string, FragmentBuilder> = {
  machinemetrics(lists, target, parts) {
    const machines = rowsOf(lists, 'machines');
    for (const [flowId, flow] of target.flows) {
      const placeholder = MACHINE_PLACEHOLDERS[flowId];
      if (!placeholder || !flow.flow.vendors.includes('machinemetrics')) continue;
      const current = isObject((flow.config as Json).machines)
        ? ((flow.config as Json).machines as Json)
        : {};
      const map: Json = { ...current };
      for (const m of machines) {
        const id = m.id as string;
        if (map[id] !== undefined) continue;
        map[id] = structuredClone(placeholder.value);
        parts.hints.push({ path: `flows.${flowId}.machines.${id}`, hint: `${m.name}: ${placeholder.from}` });
      }
      parts.flows[flowId] = { machines: map };
    }
  },

  upkeep(lists, target, parts) {
    const upkeepParts = rowsOf(lists, 'parts');
    const partLowId = 'upkeep-part-low-to-mobility-work-stock';
    const alertId = 'mobility-work-stock-alert-to-upkeep';
    const partLow = configOf(target, partLowId);
    const alert = configOf(target, alertId);
    const lowMap = stringMap(partLow, 'parts');
    const alertMap = stringMap(alert, 'parts');
    // The Mobility Work reference of each part: as mapped, else the part id (the flows' default).
    const refOf = (partId: string) =>
      lowMap[partId] ?? Object.entries(alertMap).find(([, id]) => id === partId)?.[0] ?? partId;
    if (partLow) {
      const map: Record<string, string> = { ...lowMap };
      for (const p of upkeepParts) map[p.id as string] = refOf(p.id as string);
      parts.flows[partLowId] = { parts: map };
    }
    if (alert) {
      const map: Record<string, string> = { ...alertMap };
      for (const p of upkeepParts) map[refOf(p.id as string)] = p.id as string;
      parts.flows[alertId] = { parts: map };
    }
  },

  'click-maint'(lists, target, parts) {
    const entities = rowsOf(lists, 'entities').map((e) => Number(e.id));
    const settings = (target.deployment.vendors as Record<string, Json | undefined>)['click-maint'];
    const pinned = Array.isArray(settings?.entities) ? (settings.entities as number[]) : undefined;
    if (entities.length > 0) parts.vendors['click-maint'] = { entities: pinned ?? entities };
    const flowId = 'click-maint-part-low-to-mobility-work-stock';
    const config = configOf(target, flowId);
    if (config) {
      const map: Record<string, string> = { ...stringMap(config, 'parts') };
      for (const p of rowsOf(lists, 'parts')) {
        const key = p.key as string;
        if (p.stock !== 'yes' || map[key] !== undefined) continue;
        // The flow's own default reference: the part number, else clickmaint-<entity>-<id>.
        map[key] = p.number ? (p.number as string) : `clickmaint-${p.entity}-${p.id}`;
      }
      parts.flows[flowId] = { parts: map };
    }
  },

  'mobility-work'(lists, _target, parts) {
    const [network] = rowsOf(lists, 'network');
    if (network?.networkId) parts.vendors['mobility-work'] = { networkId: network.networkId };
  },
};

/** The config fragment and its hints for what `discover` read. */
export function discoverFragment(
  vendorId: string,
  lists: readonly DiscoveredList[],
  target: Target,
): { fragment?: Record<string, unknown>; hints: FragmentHint[] } {
  const parts: FragmentParts = { flows: {}, vendors: {}, hints: [] };
  BUILDERS[vendorId]?.(lists, target, parts);
  const fragment: Json = {
    ...(Object.keys(parts.vendors).length > 0 ? { vendors: parts.vendors } : {}),
    ...(Object.keys(parts.flows).length > 0 ? { flows: parts.flows } : {}),
  };
  return { ...(Object.keys(fragment).length > 0 ? { fragment } : {}), hints: parts.hints };
}

/** The connector of a vendor id the user typed; a slip is refused with the close one named. */
export function knownVendor(vendorId: string): AnyConnector {
  const connector: AnyConnector | undefined = connectorById(vendorId);
  if (connector) return connector;
  const known = connectors.map((c) => c.id);
  const suggestion = closestKey(vendorId, known);
  throw new UnknownVendorError(
    `unknown vendor "${vendorId}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; vendors: ${known.join(', ')}`,
  );
}

/** Read the vendor's lists from the target's account and build the fragment. */
export async function discover(
  target: Target,
  vendorId: string,
  options: { log?: Log } = {},
): Promise<DiscoverResult> {
  const connector = knownVendor(vendorId);
  const settings = (target.deployment.vendors as Record<string, unknown>)[connector.id];
  if (settings === undefined) {
    throw new VendorNotConfiguredError(
      `${connector.name} is not configured on ${target.label} (no vendors.${connector.id} in the config)`,
    );
  }
  if (!connector.discover) {
    throw new DiscoverUnavailableError(
      `${connector.name} cannot be discovered: ${connector.discoverUnavailable ?? 'its connector has no discover'}`,
    );
  }
  let lists: DiscoveredList[];
  try {
    lists = await connector.discover(target.env(options.log ?? silentLog));
  } catch (error) {
    throw new DiscoverFailedError(
      `discover ${connector.id} on ${target.label}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
  return {
    vendor: connector.id,
    name: connector.name,
    lists,
    ...discoverFragment(connector.id, lists, target),
  };
}
