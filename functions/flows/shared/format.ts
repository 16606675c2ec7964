/** Formatting shared by flows' run-log lines and the texts they write into records. */

/** A duration in whole minutes, e.g. `12 min`. */
export const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;
