/** lazySchema (core/schema.ts): module-scope schemas are built on first use, once, and act as the schema. */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { checkStrict, lazySchema, lazySchemaCounts, parseWith } from '../../../functions/core/schema.ts';

/** Zod schemas built while `load` runs: each gets its `_zod` internals through Object.defineProperty. */
async function zodBuiltDuring(load: () => Promise<void>): Promise<number> {
  let built = 0;
  const defineProperty = Object.defineProperty;
  Object.defineProperty = ((target: object, key: PropertyKey, descriptor: PropertyDescriptor) => {
    if (key === '_zod') built += 1;
    return defineProperty(target, key, descriptor);
  }) as typeof Object.defineProperty;
  try {
    await load();
  } finally {
    Object.defineProperty = defineProperty;
  }
  return built;
}

/** The `.ts` modules of a folder under functions/ (listed, so a new flow is covered without editing this test). */
const modulesIn = (folder: string): string[] =>
  readdirSync(new URL(`../../../functions/${folder}/`, import.meta.url))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `../../../functions/${folder}/${name}`);

describe('lazySchema', () => {
  it('importing the connectors builds none of their schemas; the first parse builds what it uses, once', async () => {
    // Every zod schema gets its `_zod` internals through Object.defineProperty when it is built.
    let zodBuilt = 0;
    const defineProperty = Object.defineProperty;
    Object.defineProperty = ((target: object, key: PropertyKey, descriptor: PropertyDescriptor) => {
      if (key === '_zod') zodBuilt += 1;
      return defineProperty(target, key, descriptor);
    }) as typeof Object.defineProperty;
    const before = lazySchemaCounts();
    let upkeep: typeof import('../../../functions/connectors/upkeep/schemas.ts');
    try {
      upkeep = await import('../../../functions/connectors/upkeep/schemas.ts');
      await import('../../../functions/connectors/upkeep/config.ts');
      await import('../../../functions/connectors/click-maint/schemas.ts');
      await import('../../../functions/connectors/click-maint/config.ts');
      await import('../../../functions/connectors/mobility-work/events.ts');
      await import('../../../functions/connectors/mobility-work/config.ts');
      await import('../../../functions/connectors/mobility-work/client.ts');
      await import('../../../functions/connectors/machinemetrics/schemas.ts');
      await import('../../../functions/connectors/machinemetrics/events.ts');
      await import('../../../functions/connectors/deepomatic/schemas.ts');
    } finally {
      Object.defineProperty = defineProperty;
    }
    const imported = lazySchemaCounts();
    expect(zodBuilt).toBe(0);
    expect(imported.declared - before.declared).toBeGreaterThan(60);
    expect(imported.built).toBe(before.built);

    const auth = { success: true, result: { sessionToken: 'tok', expiresAt: '2026-12-07T00:00:00Z' } };
    expect(upkeep.authResponseSchema.parse(auth)).toEqual(auth);
    const first = lazySchemaCounts();
    expect(first.built - imported.built).toBe(1);
    upkeep.authResponseSchema.parse(auth);
    expect(lazySchemaCounts().built).toBe(first.built);
  });

  it('parses, fails, nests and is inspected like the schema it wraps', () => {
    let builds = 0;
    const part = lazySchema(() => {
      builds += 1;
      return z.object({ id: z.string(), stock: z.number().check(z.gte(0)) });
    });
    const order = lazySchema(() => z.strictObject({ part, quantity: z.int() }));
    expect(builds).toBe(0);

    expect(order.parse({ part: { id: 'p1', stock: 3 }, quantity: 2 })).toEqual({
      part: { id: 'p1', stock: 3 },
      quantity: 2,
    });
    expect(() =>
      parseWith(
        order,
        { part: { id: 'p1', stock: -1 }, quantity: 2 },
        (p) => new Error(`${p.path}: ${p.message}`),
      ),
    ).toThrow('part.stock: must be >= 0');
    // The unknown-key walk reads the shape through the wrapper.
    expect(checkStrict(order, { part: { id: 'p1', stock: 1, stok: 2 }, quantity: 1 }).problems).toEqual([
      { path: 'part.stok', message: 'unknown key "stok" (did you mean "stock"?)' },
    ]);
    expect(builds).toBe(1);
  });

  it('importing every flow module, the shared flow code, the runtime and core builds no schema', async () => {
    const modules = [
      ...modulesIn('flows'),
      ...modulesIn('flows/shared'),
      ...modulesIn('runtime'),
      ...modulesIn('core'),
    ];
    // The handlers a worker, poller, shared poller and the ingress are built from.
    for (const runtime of ['worker', 'poller', 'shared-poll', 'ingress']) {
      expect(modules).toContain(`../../../functions/runtime/${runtime}.ts`);
    }
    expect(modules.filter((m) => m.includes('/flows/') && !m.includes('/shared/')).length).toBeGreaterThan(9);
    const before = lazySchemaCounts();
    const built = await zodBuiltDuring(async () => {
      for (const path of modules) await import(path);
    });
    expect(built).toBe(0);
    expect(lazySchemaCounts().built).toBe(before.built);
    expect(lazySchemaCounts().declared).toBeGreaterThan(before.declared);
  });
});
