/**
 * The pause switch as the sandbox's event source mapping and scheduler see it. `millwright pause`
 * runs in another process than `npm start`, so the flag lives in the state table
 * (`FLOW#<flow>`/`CONTROL`); each flow's flag is read at most once per `maxAgeMs` (default 1 s),
 * since the mapping's pollers look at it on every wake-up. `forget()` drops the cache: an explicit
 * `drain()` or `tick()` starts from the table's current word.
 */
export interface PauseFlags {
  isPaused(flowId: string): Promise<boolean>;
  forget(): void;
}

export interface PauseFlagOptions {
  /** Reads the flag (the state table's `getFlowControl(flowId)?.paused`). */
  read: (flowId: string) => Promise<boolean>;
  /** How long a read is trusted (default 1000 ms). */
  maxAgeMs?: number;
  /** Milliseconds now (tests pass a fake). */
  now?: () => number;
}

export function pauseFlags(options: PauseFlagOptions): PauseFlags {
  const maxAgeMs = options.maxAgeMs ?? 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { paused: Promise<boolean>; at: number }>();
  return {
    isPaused(flowId) {
      const hit = cache.get(flowId);
      if (hit && now() - hit.at < maxAgeMs) return hit.paused;
      const paused = options.read(flowId);
      cache.set(flowId, { paused, at: now() });
      // A failed read is not cached: the next call asks again.
      paused.catch(() => {
        if (cache.get(flowId)?.paused === paused) cache.delete(flowId);
      });
      return paused;
    },
    forget() {
      cache.clear();
    },
  };
}
