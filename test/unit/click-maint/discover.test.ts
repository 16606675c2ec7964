/** `millwright discover click-maint`: every entity, and every page of its assets and parts. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { discoverClickMaint } from '../../../functions/connectors/click-maint/discover.ts';
import { callsTo, type Harness, startHarness } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('discover click-maint', () => {
  it('pages through every list, one record a page, and keys parts <entity>/<part>', async () => {
    const lists = await discoverClickMaint(h.env({ perPage: 1 }));
    const byKind = Object.fromEntries(lists.map((l) => [l.kind, l]));
    const entityIds = byKind.entities?.rows.map((e) => e.id) ?? [];
    expect(entityIds).toContain('1');
    expect(byKind.entities?.note).toBe('the config pins entities 1, 2');
    expect(byKind.assets?.rows.filter((a) => a.entity === '1')).toEqual([
      { entity: '1', id: '46', name: 'Lathe 02', code: 'AST-046', status: 'online' },
      { entity: '1', id: '45', name: 'Mill 01', code: 'AST-045', status: 'online' },
    ]);
    const parts = byKind.parts?.rows.filter((p) => p.entity === '1') ?? [];
    expect(parts.map((p) => p.key).sort()).toEqual(['1/101', '1/102', '1/103', '1/104']);
    expect(parts.find((p) => p.key === '1/101')).toMatchObject({
      number: 'FL_A',
      onHand: '6',
      min: '5',
      stock: 'yes',
    });
    expect(parts.find((p) => p.key === '1/104')).toMatchObject({ onHand: '', stock: 'no' });
    // Every record on its own page: as many part pages as parts in every entity (at least 1 each).
    expect(callsTo(h.sim, 'GET /parts').length).toBeGreaterThanOrEqual(4);
    expect(callsTo(h.sim, 'GET /entities').length).toBe(entityIds.length);
    // Every row has a string in every column (rows may carry more, for the config fragment).
    for (const list of lists) {
      for (const row of list.rows)
        for (const column of list.columns) expect(typeof row[column]).toBe('string');
    }
  });
});
