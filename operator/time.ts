/**
 * A time of day with neither `Z` nor an offset (`2026-03-29T02:30`, `2026-10-25 02:30:00`).
 * Date.parse reads such a text as the local time of the machine parsing it: an operator's window
 * would move with the laptop's zone, by an hour across a DST change, or name an hour that never
 * happens (Paris 2026-03-29 02:30) or happens twice (2026-10-25 02:30). Operator inputs refuse it.
 * A date alone (`2026-03-29`) is midnight UTC by ECMAScript's rule and stays accepted.
 */
export const hasTimeWithoutZone = (text: string): boolean =>
  /^\d{4}-\d{2}-\d{2}[T ]/i.test(text.trim()) && !/(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim());

/** What to tell someone who gave one. */
export const NO_ZONE_HINT =
  'has no zone: add Z or an offset (2026-12-06T08:00:00Z, 2026-12-06T09:00:00+01:00); without one it would be read as the local time of the machine that parses it';
