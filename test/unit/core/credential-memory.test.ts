/**
 * The bounded memory of credentials behind every redaction (errors.ts `rememberCredential`): a key
 * in steady use must stay remembered however many session tokens come and go after it.
 */
import { describe, expect, it } from '@jest/globals';
import { redact, rememberCredential, rememberRecent } from '../../../functions/core/errors.ts';

describe('credential memory', () => {
  it('secrets in the logs: an API key sent on every call is still redacted after 64 newer session tokens', () => {
    const key = 'mm-Key-in-steady-use-0123456789';
    rememberCredential(key);
    for (let i = 0; i < 64; i++) {
      rememberCredential(key); // each request remembers the key it sends
      rememberCredential(`r:session-token-${i}-abcdef`);
    }
    expect(redact(`echoed ${key}`, [])).toBe('echoed [REDACTED]');
  });

  it('forgets the least recently remembered value first', () => {
    const recent = new Set<string>();
    for (const v of ['a', 'b', 'c']) rememberRecent(recent, v, 3);
    rememberRecent(recent, 'a', 3);
    rememberRecent(recent, 'd', 3);
    expect([...recent]).toEqual(['c', 'a', 'd']);
  });
});
