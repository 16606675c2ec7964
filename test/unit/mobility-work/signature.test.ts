import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  computeMwSignature,
  DEFAULT_MW_SIGNATURE_SCHEME,
  MW_SIGNATURE_SCHEME_NAMES,
  type MwSignatureScheme,
  mwSignatureMatches,
  parseMwSignatureHeader,
  signMobilityWorkWebhook,
} from '../../../functions/connectors/mobility-work/signature.ts';

const SECRET = 'whsec_test_0123456789';
const T = 1660338149; // the doc's example t
const NONCE = '752c14ea195c460bac3c3b7896975ee9fd15eeb7'; // the doc's example nonce
const BODY = '{"_event":"TaskWasStarted"}';

/**
 * Computed once (node:crypto HMAC-SHA256 hex; the first also with
 * `printf '%s' "$T.$NONCE.$BODY" | openssl dgst -sha256 -hmac "$SECRET"`) and frozen here: a change of
 * the signer breaks these.
 */
const VECTORS: Record<MwSignatureScheme, string> = {
  't.nonce.body': '54e83288fbc2ec11cb71d00dcd6d1894a09efb2b8e00dc941484df37a21672f7',
  tnoncebody: '2bcda6e6bb65248d0d62dab24e8195d0a94b4199bddc992ecba1dc7b44bf3873',
  't.body': '86d70e475e560a26b605ea2b1b9636d629243bfd5a5ef84c4b0062aa99955ee0',
  body: 'e620a349c6c92abe8445d7e73ac25ddda836c736e5401532b26e976abadbd9f1',
};

describe('computeMwSignature test vectors', () => {
  it('covers exactly the four candidate schemes, t.nonce.body by default', () => {
    expect([...MW_SIGNATURE_SCHEME_NAMES].sort()).toEqual(Object.keys(VECTORS).sort());
    expect(DEFAULT_MW_SIGNATURE_SCHEME).toBe('t.nonce.body');
  });

  it.each(Object.entries(VECTORS))('signs scheme %s to its frozen vector', (scheme, hex) => {
    expect(computeMwSignature(SECRET, scheme as MwSignatureScheme, T, NONCE, BODY)).toBe(hex);
    expect(computeMwSignature(SECRET, scheme as MwSignatureScheme, String(T), NONCE, BODY)).toBe(hex);
  });

  it('gives four different signatures, and a different one for another secret', () => {
    expect(new Set(Object.values(VECTORS)).size).toBe(4);
    expect(computeMwSignature('whsec_other_secret', 't.nonce.body', T, NONCE, BODY)).not.toBe(
      VECTORS['t.nonce.body'],
    );
  });

  it('agrees with a plain HMAC of the documented signed string for the default scheme', () => {
    const plain = createHmac('sha256', SECRET).update(`${T}.${NONCE}.${BODY}`).digest('hex');
    expect(plain).toBe(VECTORS['t.nonce.body']);
  });

  it('builds the header MW would send', () => {
    expect(
      signMobilityWorkWebhook({ secret: SECRET, scheme: 't.body', t: T, nonce: NONCE, rawBody: BODY }),
    ).toBe(`t=${T},nonce=${NONCE},signature=${VECTORS['t.body']}`);
  });
});

describe('parseMwSignatureHeader', () => {
  const sig = VECTORS['t.nonce.body'];

  it('parses the documented order', () => {
    expect(parseMwSignatureHeader(`t=${T},nonce=${NONCE},signature=${sig}`)).toEqual({
      t: String(T),
      nonce: NONCE,
      signature: sig,
    });
  });

  it('accepts any order, spaces and upper-case keys', () => {
    expect(parseMwSignatureHeader(` signature=${sig} , T=${T},  nonce = ${NONCE} `)).toEqual({
      t: String(T),
      nonce: NONCE,
      signature: sig,
    });
  });

  it.each([
    ['missing t', `nonce=${NONCE},signature=${sig}`],
    ['missing nonce', `t=${T},signature=${sig}`],
    ['missing signature', `t=${T},nonce=${NONCE}`],
    ['an empty part', `t=,nonce=${NONCE},signature=${sig}`],
    ['no pairs at all', 'garbage'],
    ['an empty header', ''],
  ])('returns undefined with %s', (_case, header) => {
    expect(parseMwSignatureHeader(header)).toBeUndefined();
  });

  it('returns undefined without a header', () => {
    expect(parseMwSignatureHeader(undefined)).toBeUndefined();
  });
});

describe('mwSignatureMatches', () => {
  const sig = VECTORS['t.nonce.body'];

  it('matches the same hex in either case', () => {
    expect(mwSignatureMatches(sig, sig)).toBe(true);
    expect(mwSignatureMatches(sig.toUpperCase(), sig)).toBe(true);
  });

  it('refuses another signature, a short one and non-hex', () => {
    expect(mwSignatureMatches(VECTORS.body, sig)).toBe(false);
    expect(mwSignatureMatches(sig.slice(0, 62), sig)).toBe(false);
    expect(mwSignatureMatches(`${sig.slice(0, 63)}g`, sig)).toBe(false);
  });
});
