import { describe, expect, it } from '@jest/globals';
import { pauseFlags } from '../../../sandbox/pause-flags.ts';

describe('pauseFlags', () => {
  it('reads a flow flag at most once per maxAgeMs, afresh after forget, and not caching a failed read', async () => {
    let t = 0;
    const reads: string[] = [];
    let paused = false;
    let fail = false;
    const flags = pauseFlags({
      read: async (flowId) => {
        reads.push(flowId);
        if (fail) throw new Error('table down');
        return paused;
      },
      maxAgeMs: 1000,
      now: () => t,
    });
    expect(await flags.isPaused('a')).toBe(false);
    paused = true;
    t = 999;
    expect(await flags.isPaused('a')).toBe(false); // still the cached read
    expect(await flags.isPaused('b')).toBe(true); // each flow on its own
    t = 1000;
    expect(await flags.isPaused('a')).toBe(true);
    expect(reads).toEqual(['a', 'b', 'a']);
    paused = false;
    flags.forget();
    expect(await flags.isPaused('a')).toBe(false);
    fail = true;
    flags.forget();
    await expect(flags.isPaused('a')).rejects.toThrow('table down');
    fail = false;
    expect(await flags.isPaused('a')).toBe(false);
    expect(reads).toHaveLength(6);
  });
});
