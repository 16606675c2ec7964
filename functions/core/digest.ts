/** Hashing helpers every webhook receiver uses: constant-time comparison and body fingerprints. */
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
export const constantTimeEqual = (given: string, expected: string): boolean =>
  timingSafeEqual(sha256(given), sha256(expected));

/** A short, stable fingerprint of a raw body: the same delivery always gets the same event id. */
export const bodyFingerprint = (rawBody: string): string => sha256(rawBody).toString('hex').slice(0, 16);
