/** sendOnce: a non-idempotent write is looked for before it is sent again, or parked; never lost silently. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { forgetUnconfirmedSend, type Lookup, sendOnce } from '../../../functions/core/claims.ts';
import { AmbiguousWriteError, NeedsAttentionError, VendorHttpError } from '../../../functions/core/errors.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

/** A vendor that records sends; `lost` answers the next send with AmbiguousWriteError after applying it. */
function vendor() {
  const applied: string[] = [];
  let next: 'ok' | 'lost' | 'unapplied' | 'refused' = 'ok';
  return {
    applied,
    fail(mode: typeof next) {
      next = mode;
    },
    send: async (value: string) => {
      const mode = next;
      next = 'ok';
      if (mode === 'refused') throw new VendorHttpError('v', 'create', 400, 'bad');
      if (mode === 'unapplied') throw new AmbiguousWriteError('v', 'create');
      applied.push(value);
      if (mode === 'lost') throw new AmbiguousWriteError('v', 'create');
      return value;
    },
  };
}
const base = { what: 'a note', check: 'look at the vendor' };

describe('sendOnce', () => {
  it('sends once when answered', async () => {
    const v = vendor();
    const store = t.store();
    const out = await sendOnce(store, { ...base, key: 's-ok', send: () => v.send('a') });
    expect(out).toEqual({ how: 'sent', value: 'a' });
    expect(v.applied).toEqual(['a']);
  });

  it('with a look-up: an unanswered send is rethrown, and the retry finds the effect instead of sending', async () => {
    const v = vendor();
    const store = t.store();
    const lookup = async (): Promise<Lookup<string>> =>
      v.applied.includes('b') ? { status: 'found', value: 'b' } : { status: 'absent' };
    v.fail('lost');
    await expect(
      sendOnce(store, { ...base, key: 's-found', send: () => v.send('b'), lookup }),
    ).rejects.toBeInstanceOf(AmbiguousWriteError);
    const retry = await sendOnce(store, { ...base, key: 's-found', send: () => v.send('b'), lookup });
    expect(retry).toEqual({ how: 'found', value: 'b' });
    expect(v.applied).toEqual(['b']);
  });

  it('with a look-up: an unanswered send that was not applied is sent again on the retry', async () => {
    const v = vendor();
    const store = t.store();
    const lookup = async (): Promise<Lookup<string>> =>
      v.applied.includes('c') ? { status: 'found', value: 'c' } : { status: 'absent' };
    v.fail('unapplied');
    await expect(
      sendOnce(store, { ...base, key: 's-absent', send: () => v.send('c'), lookup }),
    ).rejects.toBeInstanceOf(AmbiguousWriteError);
    expect(await sendOnce(store, { ...base, key: 's-absent', send: () => v.send('c'), lookup })).toEqual({
      how: 'sent',
      value: 'c',
    });
    expect(v.applied).toEqual(['c']);
  });

  it('with a look-up that cannot tell: parked (NeedsAttentionError with the check), not sent again', async () => {
    const v = vendor();
    const store = t.store();
    const lookup = async (): Promise<Lookup<string>> => ({ status: 'unknown', why: 'ids only' });
    v.fail('lost');
    await expect(
      sendOnce(store, { ...base, key: 's-unknown', send: () => v.send('d'), lookup }),
    ).rejects.toBeInstanceOf(AmbiguousWriteError);
    const parked = await sendOnce(store, {
      ...base,
      key: 's-unknown',
      send: () => v.send('d'),
      lookup,
    }).catch((e: unknown) => e);
    expect(parked).toBeInstanceOf(NeedsAttentionError);
    expect((parked as NeedsAttentionError).check).toBe('look at the vendor');
    expect((parked as NeedsAttentionError).message).toContain('ids only');
    expect(v.applied).toEqual(['d']);
  });

  it('without a look-up: an unanswered send parks at once, a redelivery parks again, and after the operator clears it the replay sends', async () => {
    const v = vendor();
    const store = t.store();
    v.fail('unapplied');
    const first = await sendOnce(store, { ...base, key: 's-none', send: () => v.send('e') }).catch(
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(NeedsAttentionError);
    expect((first as NeedsAttentionError).cause).toBeInstanceOf(AmbiguousWriteError);
    await expect(sendOnce(store, { ...base, key: 's-none', send: () => v.send('e') })).rejects.toBeInstanceOf(
      NeedsAttentionError,
    );
    expect(v.applied).toEqual([]);
    await forgetUnconfirmedSend(store, 's-none');
    expect(await sendOnce(store, { ...base, key: 's-none', send: () => v.send('e') })).toEqual({
      how: 'sent',
      value: 'e',
    });
  });

  it('a send that certainly failed is retried as a fresh send', async () => {
    const v = vendor();
    const store = t.store();
    v.fail('refused');
    await expect(
      sendOnce(store, { ...base, key: 's-refused', send: () => v.send('f') }),
    ).rejects.toBeInstanceOf(VendorHttpError);
    expect(await sendOnce(store, { ...base, key: 's-refused', send: () => v.send('f') })).toEqual({
      how: 'sent',
      value: 'f',
    });
  });
});
