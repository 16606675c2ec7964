/**
 * `X-MW-Signature: t=<unix s>,nonce=<40 hex>,signature=<64 hex>` (reference §4.4).
 *
 * Mobility Work documents the header but not the string it signs (the `Security/WebhookSigningKey`
 * section is missing from the doc). HMAC-SHA256 in hex is inferred from the 64-hex length. The signed
 * string is a named, configurable assumption (`vendors.mobility-work.webhook.signatureScheme`); each
 * candidate from reference §4.4 has a test vector in test/unit/mobility-work/signature.test.ts.
 * The simulator signs with the same function, so the sandbox exercises whichever scheme is chosen.
 * The doc's prose names `X-MW-Signature`, its example shows the same value under `Api-Key`: we read
 * `X-MW-Signature` (the named header; `Api-Key` is our outbound auth header), see README Assumptions.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MW_SIGNATURE_SCHEMES = {
  /** `${t}.${nonce}.${rawBody}` (default: the Stripe-like pattern extended with the nonce). */
  't.nonce.body': (t: string, nonce: string, body: string) => `${t}.${nonce}.${body}`,
  /** `${t}${nonce}${rawBody}` (no separators). */
  tnoncebody: (t: string, nonce: string, body: string) => `${t}${nonce}${body}`,
  /** `${t}.${rawBody}` (nonce not signed). */
  't.body': (t: string, _nonce: string, body: string) => `${t}.${body}`,
  /** The raw body alone. */
  body: (_t: string, _nonce: string, body: string) => body,
} as const;
export type MwSignatureScheme = keyof typeof MW_SIGNATURE_SCHEMES;
export const MW_SIGNATURE_SCHEME_NAMES = Object.keys(MW_SIGNATURE_SCHEMES) as MwSignatureScheme[];
export const DEFAULT_MW_SIGNATURE_SCHEME: MwSignatureScheme = 't.nonce.body';
export const MW_SIGNATURE_HEADER = 'x-mw-signature';

export interface MwSignatureParts {
  t: string;
  nonce: string;
  signature: string;
}

/** Hex HMAC-SHA256 of the scheme's signed string. */
export function computeMwSignature(
  secret: string,
  scheme: MwSignatureScheme,
  t: string | number,
  nonce: string,
  rawBody: string,
): string {
  return createHmac('sha256', secret)
    .update(MW_SIGNATURE_SCHEMES[scheme](String(t), nonce, rawBody), 'utf8')
    .digest('hex');
}

/** The header value Mobility Work would send (used by the simulator and tests). */
export function signMobilityWorkWebhook(options: {
  secret: string;
  scheme: MwSignatureScheme;
  t: number;
  nonce: string;
  rawBody: string;
}): string {
  const signature = computeMwSignature(
    options.secret,
    options.scheme,
    options.t,
    options.nonce,
    options.rawBody,
  );
  return `t=${options.t},nonce=${options.nonce},signature=${signature}`;
}

/** Parses `t=..,nonce=..,signature=..` (any order, spaces tolerated); undefined if a part is missing. */
export function parseMwSignatureHeader(value: string | undefined): MwSignatureParts | undefined {
  if (!value) return undefined;
  const parts: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    parts[pair.slice(0, at).trim().toLowerCase()] = pair.slice(at + 1).trim();
  }
  const { t, nonce, signature } = parts;
  return t && nonce && signature ? { t, nonce, signature } : undefined;
}

/** Constant-time comparison of a received hex signature with the expected one. */
export function mwSignatureMatches(received: string, expected: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(received)) return false;
  return timingSafeEqual(Buffer.from(received.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
}
