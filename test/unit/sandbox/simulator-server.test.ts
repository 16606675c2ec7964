/** The simulator toolkit's routing: params reach handlers decoded; hostile paths get 4xx, not a crash. */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { json, type Simulator, startSimulator } from '../../../sandbox/simulators/server.ts';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    name: 'test',
    routes: [{ method: 'GET', pattern: '/things/:id', handler: (req) => json(200, { id: req.params.id }) }],
  });
});

afterAll(() => sim.close());

/** A GET with the path sent as is (fetch would normalise or refuse a malformed one). */
function get(path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: sim.port, path, method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += String(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('simulator routing', () => {
  it('hands the decoded param to the handler, with or without a trailing slash', async () => {
    expect(await get('/things/a%20b')).toEqual({ status: 200, body: { id: 'a b' } });
    expect(await get('/things/x/')).toEqual({ status: 200, body: { id: 'x' } });
  });

  it('answers 404 naming the request when no route matches', async () => {
    expect(await get('/nothing/here')).toEqual({
      status: 404,
      body: { success: false, message: 'no route for GET /nothing/here' },
    });
  });

  it('answers 400 for a malformed percent-encoding in a param, and keeps serving', async () => {
    expect(await get('/things/%E0%A4%A')).toEqual({
      status: 400,
      body: { success: false, message: 'malformed percent-encoding in the path (id)' },
    });
    expect((await get('/things/ok')).status).toBe(200);
  });
});

describe('simulator saves (group commit)', () => {
  it('writes that arrive together share one save; each answer comes after a save that began after its change', async () => {
    const world: number[] = [];
    const saved: number[][] = [];
    // The first eight writes are held until all have arrived, so they change the world in one turn.
    let arrived = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const saves = await startSimulator({
      name: 'saves',
      routes: [
        {
          method: 'POST',
          pattern: '/things',
          handler: async (req) => {
            world.push(Number((req.json as { n: number }).n));
            if (++arrived === 8) release();
            if (arrived <= 8) await gate;
            return json(201, { n: world.length });
          },
        },
      ],
      commit: () => {
        saved.push([...world]);
      },
    });
    try {
      const post = async (n: number) => {
        const res = await fetch(`${saves.url}/things`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ n }),
        });
        await res.json();
        // Answered only once a save holds this write.
        expect(saved.some((s) => s.includes(n))).toBe(true);
      };
      await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(post));
      expect(saved.at(-1)?.sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      // One save for the eight (one each without grouping); a later write gets its own.
      expect(saved).toHaveLength(1);
      await post(9);
      expect(saved).toHaveLength(2);
    } finally {
      await saves.close();
    }
  });

  it('a failed save answers every write it held with a 500', async () => {
    const failing = await startSimulator({
      name: 'failing',
      routes: [{ method: 'POST', pattern: '/things', handler: () => json(201, {}) }],
      commit: () => {
        throw new Error('disk full');
      },
    });
    try {
      const statuses = await Promise.all(
        [1, 2].map((n) =>
          fetch(`${failing.url}/things`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ n }),
          }).then((r) => r.status),
        ),
      );
      expect(statuses).toEqual([500, 500]);
    } finally {
      await failing.close();
    }
  });
});

describe('simulator request log (a sandbox left polling for weeks)', () => {
  it('keeps only the newest requestLogLimit requests, oldest dropped first', async () => {
    const bounded = await startSimulator({
      name: 'bounded',
      routes: [{ method: 'GET', pattern: '/things/:id', handler: (req) => json(200, { id: req.params.id }) }],
      requestLogLimit: 3,
    });
    try {
      for (const id of ['1', '2', '3', '4', '5'])
        await fetch(`${bounded.url}/things/${id}`).then((r) => r.text());
      expect(bounded.requests).toEqual(['GET /things/3', 'GET /things/4', 'GET /things/5']);
    } finally {
      await bounded.close();
    }
  });
});
