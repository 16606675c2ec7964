/**
 * The simulators' fault toolkit (sandbox/simulators/server.ts) on a bare simulator over loopback:
 * counted faults as before, standing faults with a probability drawn from a seed, and an outage
 * window (probability 1) lifted by name without touching the other faults.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { json, type Simulator, startSimulator } from '../../../sandbox/simulators/server.ts';

let sim: Simulator;
let written = 0;
beforeAll(async () => {
  sim = await startSimulator({
    name: 'bare',
    routes: [
      { method: 'GET', pattern: '/things', handler: () => json(200, { ok: true }) },
      {
        method: 'POST',
        pattern: '/things',
        handler: () => {
          written++;
          return json(201, { id: written });
        },
      },
    ],
  });
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(async () => {
  await fetch(`${sim.url}/_sandbox/faults`, { method: 'DELETE' });
});

const addFaults = (faults: unknown) =>
  fetch(`${sim.url}/_sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });

async function statuses(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sim.url}/things`);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe('simulator faults', () => {
  it('a counted fault hits the next `times` matching requests, then is gone', async () => {
    await addFaults({ match: 'GET /things', status: 503, times: 2 });
    expect(await statuses(3)).toEqual([503, 503, 200]);
    expect(sim.faults).toEqual([]);
  });

  it('a status fault with afterWrite runs the handler (the write lands), then answers the status', async () => {
    await addFaults([
      { match: 'POST /things', status: 500, afterWrite: true },
      { match: 'POST /things', status: 500 },
    ]);
    const before = written;
    const post = () => fetch(`${sim.url}/things`, { method: 'POST' }).then((r) => r.status);
    expect([await post(), await post(), await post()]).toEqual([500, 500, 201]);
    expect(written - before).toBe(2); // the first (after the write) and the third
  });

  it('a probabilistic fault hits about its share of requests, stays, and repeats with its seed', async () => {
    await addFaults({ status: 503, probability: 0.3, seed: 7 });
    const first = await statuses(200);
    const hits = first.filter((s) => s === 503).length;
    expect(hits).toBeGreaterThan(35);
    expect(hits).toBeLessThan(85);
    expect(sim.faults).toHaveLength(1);
    expect(sim.faults[0]?.hits).toBe(hits);
    await fetch(`${sim.url}/_sandbox/faults`, { method: 'DELETE' });
    await addFaults({ status: 503, probability: 0.3, seed: 7 });
    expect(await statuses(200)).toEqual(first);
  });

  it('a probabilistic fault that misses lets the next fault try', async () => {
    await addFaults([
      { status: 503, probability: 0, seed: 1 },
      { status: 429, retryAfterSeconds: 1, times: 1 },
    ]);
    const res = await fetch(`${sim.url}/things`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('an outage (probability 1) fails every request until lifted by name; other faults stay', async () => {
    await addFaults([
      { name: 'outage', status: 503, probability: 1 },
      { name: 'background', status: 500, probability: 0, seed: 3 },
    ]);
    expect(await statuses(5)).toEqual([503, 503, 503, 503, 503]);
    const lifted = await fetch(`${sim.url}/_sandbox/faults?name=outage`, { method: 'DELETE' });
    expect(await lifted.json()).toEqual({ queued: 1 });
    expect(await statuses(3)).toEqual([200, 200, 200]);
    expect(sim.faults.map((f) => f.name)).toEqual(['background']);
  });

  it('control routes never meet a fault', async () => {
    await addFaults({ name: 'outage', status: 503, probability: 1 });
    const res = await fetch(`${sim.url}/_sandbox/requests`);
    expect(res.status).toBe(200);
  });
});
