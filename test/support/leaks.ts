/** Checks that no credential reaches what a test collected (error text, log lines, run-log entries). */
import { expect } from '@jest/globals';

/** Any `length`-character piece of `secret`, or of its URL-encoded form, found in `text`. */
export function leakedPiece(text: string, secret: string, length = 8): string | undefined {
  for (const form of [secret, encodeURIComponent(secret)]) {
    for (let i = 0; i + length <= form.length; i++) {
      const piece = form.slice(i, i + length);
      if (text.includes(piece)) return piece;
    }
  }
  return undefined;
}

/** Fails naming the secret and the piece of it that `text` holds. */
export function expectNoLeak(text: string, secrets: readonly string[]): void {
  for (const secret of secrets)
    expect({ secret, leaked: leakedPiece(text, secret) }).toEqual({ secret, leaked: undefined });
}
