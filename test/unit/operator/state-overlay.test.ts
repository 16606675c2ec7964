/**
 * The dry run's state overlay (operator/state-overlay.ts): reads through to the table, writes kept
 * in memory and recorded, conditions and updates evaluated as DynamoDB does. The same StateStore
 * calls run against dynalite directly and through an overlay, and must answer alike.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { StateStore } from '../../../functions/core/state.ts';
import type { RecordedWrite } from '../../../operator/dry-run.ts';
import {
  applyUpdate,
  DryRunStateError,
  meetsCondition,
  stateOverlay,
} from '../../../operator/state-overlay.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let state: TestState;
beforeAll(async () => {
  state = await startTestState();
});
afterAll(() => state.close());

const overlaid = (real: StateStore) => {
  const writes: RecordedWrite[] = [];
  let items: ReadonlyMap<string, unknown> = new Map();
  const store = real.withClient((client) => {
    const overlay = stateOverlay(client, (w) => writes.push(w));
    items = overlay.items;
    return overlay.client;
  });
  return { store, writes, items: () => items };
};

describe('expressions', () => {
  const names = { '#state': 'state', '#owner': 'owner' };
  it('evaluates the claim condition as DynamoDB does', () => {
    const condition =
      'attribute_not_exists(pk) OR (#state <> :done AND (leaseUntil < :now OR #owner = :owner))';
    const values = { ':done': 'done', ':now': 100, ':owner': 'me' };
    expect(meetsCondition(condition, undefined, names, values)).toBe(true);
    expect(meetsCondition(condition, { pk: 'a', state: 'done', leaseUntil: 0 }, names, values)).toBe(false);
    expect(
      meetsCondition(condition, { pk: 'a', state: 'pending', leaseUntil: 50, owner: 'x' }, names, values),
    ).toBe(true);
    expect(
      meetsCondition(condition, { pk: 'a', state: 'pending', leaseUntil: 150, owner: 'x' }, names, values),
    ).toBe(false);
    expect(
      meetsCondition(condition, { pk: 'a', state: 'pending', leaseUntil: 150, owner: 'me' }, names, values),
    ).toBe(true);
  });

  it('applies SET with if_not_exists and arithmetic, then REMOVE, from the item as it was', () => {
    const out = applyUpdate(
      'SET attempts = if_not_exists(attempts, :zero) + :one, #state = if_not_exists(#state, :pending) REMOVE leaseUntil',
      { pk: 'a', sk: 'b', attempts: 2, leaseUntil: 5 },
      names,
      { ':zero': 0, ':one': 1, ':pending': 'pending' },
    );
    expect(out).toEqual({ pk: 'a', sk: 'b', attempts: 3, state: 'pending' });
  });

  it('refuses what it does not cover instead of guessing', () => {
    expect(() => applyUpdate('ADD n :one', {}, undefined, { ':one': 1 })).toThrow(DryRunStateError);
    expect(() => meetsCondition('size(a) > :n', {}, undefined, { ':n': 1 })).toThrow(DryRunStateError);
    expect(() => meetsCondition('#missing = :v', {}, {}, { ':v': 1 })).toThrow(/ExpressionAttributeNames/);
  });
});

describe('a StateStore through the overlay', () => {
  it('takes, completes and re-reads a claim in memory; the table never sees it', async () => {
    const real = state.store();
    const { store, writes } = overlaid(real);
    expect(await store.acquireClaim('k1', 'me', 60_000)).toEqual({ status: 'acquired', attempts: 1 });
    // The same owner may take it again (its retry), another owner is refused while the lease runs.
    expect(await store.acquireClaim('k1', 'me', 60_000)).toEqual({ status: 'acquired', attempts: 2 });
    expect(await store.acquireClaim('k1', 'other', 60_000)).toMatchObject({ status: 'busy' });
    await store.completeClaim('k1', { workOrderId: 'wo-1' });
    expect(await store.acquireClaim('k1', 'me', 60_000)).toEqual({
      status: 'done',
      result: { workOrderId: 'wo-1' },
    });
    expect(await store.getClaim('k1')).toMatchObject({ state: 'done', attempts: 2 });
    expect(await real.getClaim('k1')).toBeUndefined();
    expect(writes).toContainEqual({ kind: 'state', operation: 'update', key: 'CLAIM#k1 / CLAIM' });
  });

  it('answers like the table for the same calls (versioned puts, nonces, entities, sets)', async () => {
    const direct = state.store();
    const { store: overlay } = overlaid(state.store());
    const script = async (s: StateStore, id: string) => {
      const out: unknown[] = [];
      out.push(await s.putVersioned(`V#${id}`, 'S', { a: 1 }, undefined));
      out.push(await s.putVersioned(`V#${id}`, 'S', { a: 2 }, undefined).catch((e: Error) => e.name));
      out.push(await s.putVersioned(`V#${id}`, 'S', { a: 3 }, 1));
      out.push(await s.putVersioned(`V#${id}`, 'S', { a: 4 }, 1).catch((e: Error) => e.name));
      out.push(await s.getVersioned(`V#${id}`, 'S'));
      out.push(await s.rememberNonce(id, 'n1', { ttlSeconds: 60, fingerprint: 'f1' }));
      out.push(await s.rememberNonce(id, 'n1', { ttlSeconds: 60, fingerprint: 'f1' }));
      out.push(await s.rememberNonce(id, 'n1', { ttlSeconds: 60, fingerprint: 'f2' }));
      await s.putLatest(`L${id}`, [
        { id: 'x', data: 1 },
        { id: 'y', data: 2 },
      ]);
      await s.forgetLatest(`L${id}`, 'y');
      out.push((await s.getLatest(`L${id}`, 'x'))?.data, await s.getLatest(`L${id}`, 'y'));
      await s.updateEntity<number>('count', id, (n) => (n ?? 0) + 5);
      out.push(await s.updateEntity<number>('count', id, (n) => (n ?? 0) + 1));
      out.push([...(await s.getEntities<number>('count', [id, 'absent'])).entries()]);
      return out;
    };
    expect(await script(overlay, 'o')).toEqual(await script(direct, 'o'));
  });

  it('reads through to the table and masks what the overlay changed or deleted', async () => {
    const real = state.store();
    await real.putMember('open', 'a', { n: 1 });
    await real.putMember('open', 'b', { n: 2 });
    await real.putEntity('thing', 't1', { v: 1 }, undefined);
    const { store, items } = overlaid(real);
    expect(await store.getEntity('thing', 't1')).toEqual({ data: { v: 1 }, version: 1 });
    await store.putEntity('thing', 't1', { v: 2 }, 1);
    await store.deleteMember('open', 'a');
    await store.putMember('open', 'b', { n: 20 });
    expect(await store.getEntity('thing', 't1')).toEqual({ data: { v: 2 }, version: 2 });
    expect(await store.listMembers('open')).toEqual([{ id: 'b', data: { n: 20 } }]);
    // The table is as it was.
    expect(await real.getEntity('thing', 't1')).toEqual({ data: { v: 1 }, version: 1 });
    expect((await real.listMembers('open')).map((m) => m.id)).toEqual(['a', 'b']);
    expect(items().get('SET#open / a')).toBeNull();
  });

  it('keeps a run-log entry (one BatchWriteItem) in memory and records each copy', async () => {
    const real = state.store();
    const { store, writes } = overlaid(real);
    await store.appendRun({
      flowId: 'f',
      eventId: 'e1',
      eventType: 't',
      subject: 's1',
      outcome: 'done',
      message: 'ok',
      at: '2026-03-02T06:40:00.000Z',
    });
    expect(writes.map((w) => (w.kind === 'state' ? w.key.split(' / ')[0] : w.kind))).toEqual([
      'RUN#f',
      'EVENT#e1',
      'SUBJECT#s1',
    ]);
    expect((await real.queryRuns({ eventId: 'e1' })).entries).toEqual([]);
  });
});
