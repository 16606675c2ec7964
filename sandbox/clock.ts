/**
 * The sandbox clock. Real time by default; the demo and tests use a manual clock they advance, so a
 * "machine down for 10 minutes" scenario takes milliseconds. Simulators and the runtime share it.
 */
export interface Clock {
  now(): Date;
  /** Move a manual clock forward; a no-op for the real clock. */
  advance(ms: number): void;
  readonly manual: boolean;
}

export const realClock: Clock = { now: () => new Date(), advance() {}, manual: false };

export function manualClock(start: Date | string = '2026-11-02T08:00:00.000Z'): Clock {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    advance(ms) {
      t += ms;
    },
    manual: true,
  };
}
