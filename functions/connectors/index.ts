/**
 * Every connector, from the registry (registry.ts: one line per vendor), and what derives from it.
 * Not imported by Lambda code: a manifest reaches its simulator.
 */
import type * as z from 'zod/mini';
import * as registry from './registry.ts';

type Registry = typeof registry;
export type Connector = Registry[keyof Registry];
/** A connector's id, e.g. `upkeep`, `mobility-work`. */
export type ConnectorId = Connector['id'];
export type ConnectorById<Id extends ConnectorId> = Extract<Connector, { id: Id }>;
/** A connector's vendor settings (`vendors.<id>` in the deployment config). */
export type SettingsOf<Id extends ConnectorId> = z.output<ConnectorById<Id>['config']>;
/** The simulator the sandbox runs for a connector. */
export type SimulatorOf<Id extends ConnectorId> = Awaited<
  ReturnType<ConnectorById<Id>['simulator']['start']>
>['simulator'];
/** The sandbox options a connector's simulator takes. */
export type SimulatorOptionsOf<Id extends ConnectorId> = Parameters<
  ConnectorById<Id>['simulator']['start']
>[0]['options'];

/** Every connector, in registry order. */
export const connectors: readonly Connector[] = Object.values(registry);

export function connectorById(id: string): Connector | undefined {
  return connectors.find((c) => c.id === id);
}

/** `id` as a registered connector's id; an unknown id (a receiver or poll source of no connector) throws. */
export function connectorId(id: string): ConnectorId {
  const connector = connectorById(id);
  if (!connector) throw new Error(`no connector "${id}" in functions/connectors/registry.ts`);
  return connector.id;
}
