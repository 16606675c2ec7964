/** Formatting shared by flows' run-log lines and the texts they write into records. */

/** A duration in whole minutes, e.g. `12 min`. */
export const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * `text` cut to at most `max` UTF-16 code units, never between the two halves of a surrogate pair
 * (an emoji, a rare CJK character): a lone surrogate is no character, and a strict JSON parser
 * refuses the whole body. Counting code units also keeps within a limit the doc states in
 * characters (code points), whichever it means.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max);
}
