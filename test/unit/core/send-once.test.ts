/** sendOnce: a non-idempotent write is looked for before it is sent again, or parked; never lost silently. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { forgetUnconfirmedSend, type Lookup, sendOnce } from '../../../functions/core/claims.ts';
import {
  AmbiguousWriteError,
  NeedsAttentionError,
  VendorHttpError,
  VendorResponseError,
} from '../../../functions/core/errors.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

/** A vendor that records sends; `lost` answers the next send with AmbiguousWriteError after applying it. */
function vendor() {
  const applied: string[] = [];
  let next: 'ok' | 'lost' | 'unapplied' | 'refused' | 'unreadable' = 'ok';
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
      // Answered 2xx (applied), but the body is not what we can read (e.g. a proxy's page, no id).
      if (mode === 'unreadable') throw new VendorResponseError('v', 'create', 'id', 'expected string');
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

  it('without a look-up: a send answered 2xx with a body we cannot read is not sent again (it was applied): parked', async () => {
    const v = vendor();
    const store = t.store();
    v.fail('unreadable');
    const first = await sendOnce(store, { ...base, key: 's-unreadable', send: () => v.send('g') }).catch(
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(NeedsAttentionError);
    expect((first as NeedsAttentionError).cause).toBeInstanceOf(VendorResponseError);
    // The redelivery (the vendor is healthy again) does not create a second one.
    await expect(
      sendOnce(store, { ...base, key: 's-unreadable', send: () => v.send('g') }),
    ).rejects.toBeInstanceOf(NeedsAttentionError);
    expect(v.applied).toEqual(['g']);
  });

  it('with a look-up: a send answered 2xx with a body we cannot read keeps its intent, so the retry looks first', async () => {
    const v = vendor();
    const store = t.store();
    const lookup = async (): Promise<Lookup<string>> =>
      v.applied.includes('h') ? { status: 'found', value: 'h' } : { status: 'absent' };
    v.fail('unreadable');
    await expect(
      sendOnce(store, { ...base, key: 's-unreadable-lookup', send: () => v.send('h'), lookup }),
    ).rejects.toBeInstanceOf(VendorResponseError);
    const retry = await sendOnce(store, {
      ...base,
      key: 's-unreadable-lookup',
      send: () => v.send('h'),
      lookup,
    });
    expect(retry).toEqual({ how: 'found', value: 'h' });
    expect(v.applied).toEqual(['h']);
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
