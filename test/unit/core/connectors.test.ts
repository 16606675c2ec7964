/**
 * The connector registry (functions/connectors/registry.ts) and what derives from it: each
 * manifest is consistent with its folder's parts, and the deployment schema follows the registry.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { deploymentSchema } from '../../../functions/config/deployment.ts';
import { connectorId, connectors } from '../../../functions/connectors/index.ts';
import { sandboxSecrets } from '../../../sandbox/secrets.ts';

describe('connector registry', () => {
  it('lists each vendor once, by a lower-case dashed id', () => {
    const ids = connectors.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(() => connectorId('acme-cmmz')).toThrow(
      'no connector "acme-cmmz" in functions/connectors/registry.ts',
    );
  });

  it.each(connectors.map((c) => [c.id, c] as const))(
    '%s: its events, receiver and poll sources belong to it',
    async (id, connector) => {
      for (const type of Object.keys(connector.events)) expect(type.startsWith(`${id}.`)).toBe(true);
      const emitters = [...(connector.webhook ? [connector.webhook] : []), ...(connector.pollSources ?? [])];
      expect(emitters.length).toBeGreaterThan(0);
      for (const emitter of emitters) {
        expect(emitter.vendor).toBe(id);
        for (const type of Object.keys(emitter.events)) expect(connector.events).toHaveProperty([type]);
      }
      // The ingress bundle imports `<id>/webhook.ts` alone: its default export must be the receiver.
      const webhookFile = `functions/connectors/${id}/webhook.ts`;
      expect(existsSync(webhookFile)).toBe(connector.webhook !== undefined);
      if (connector.webhook) {
        const module = (await import(`../../../${webhookFile}`)) as { default: unknown };
        expect(module.default).toBe(connector.webhook);
      }
    },
  );

  it('gives every connector a sandbox secret its own schema accepts', () => {
    for (const connector of connectors) {
      expect(connector.secret.safeParse(connector.simulator.sandboxSecret).success).toBe(true);
    }
    expect(Object.keys(sandboxSecrets()).sort()).toEqual(connectors.map((c) => `millwright/${c.id}`).sort());
    expect(Object.keys(sandboxSecrets({ upkeep: { secretName: 'plant-a/upkeep' } }))).toContain(
      'plant-a/upkeep',
    );
  });

  it('makes the deployment schema take one vendors block per connector, and no other', () => {
    const shape = (deploymentSchema.shape.vendors as unknown as { def: { innerType: { shape: object } } }).def
      .innerType.shape;
    expect(Object.keys(shape).sort()).toEqual(connectors.map((c) => c.id).sort());
    expect(deploymentSchema.safeParse({ vendors: { 'acme-cmmz': { secretName: 'x' } } }).success).toBe(false);
  });
});
