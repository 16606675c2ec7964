/**
 * The chaos benchmark's small run (bench/chaos: the same harness as `npm run bench:chaos`): a few
 * hundred events through the real sandbox (ingress over HTTP, local SQS, the Lambda worker,
 * dynalite, the simulators) with 10% duplicate deliveries, 5% vendor 5xx, 2% 429 with Retry-After,
 * 1% timeout after a create, 1% worker crash between effect and ack, and a 30-simulated-minute
 * UpKeep outage, time compressed 100x. Then the small hostile-webhook run on every route.
 * Both must end clean: nothing lost, nothing twice, only the deliberate poison in the DLQs;
 * no 5xx, nothing enqueued, the heap back where it started.
 */
import { describe, expect, it } from '@jest/globals';
import { isReplay, runHostile } from '../../bench/chaos/hostile.ts';
import { runChaos } from '../../bench/chaos/run.ts';

describe('chaos benchmark (small run)', () => {
  it('chaos: 300 events with duplicates, vendor faults, worker crashes and an outage: 0 lost, 0 duplicated, DLQ only poison', async () => {
    const figures = await runChaos({
      events: 300,
      seed: 20261207,
      cycles: 1,
      staggerMinutes: 10,
      // 600 ms per simulated minute: the detector's 5-minute settle delay is 3 s of real time, so a
      // machine's back-dated up/down still reaches the simulator before its window is read on a
      // slow machine (at 400 ms, a 2 s margin, a late post was seen as a recovery 2 s later).
      scaleMs: 600,
      poison: 6,
    });
    // The run met what it is meant to meet.
    expect(figures.eventsSent).toBe(figures.plan.events);
    expect(figures.duplicatesSent).toBeGreaterThan(0);
    expect(figures.expected).toBeGreaterThan(200);
    const report = figures.flows.map(
      (f) => `${f.flow}: ${f.effect}: lost ${f.lost}, dup ${f.duplicated} ${f.examples.join('; ')}`,
    );
    // The effects that went wrong, named with examples, so a failure says which and where.
    const problems = report.filter((line) => !line.includes('lost 0, dup 0'));
    expect({ lost: figures.lost, duplicated: figures.duplicated, problems }).toEqual({
      lost: 0,
      duplicated: 0,
      problems: [],
    });
    expect(figures.deadLetters.filter((d) => !d.poison).map((d) => `${d.flow}: ${d.reason}`)).toEqual([]);
    expect(figures.deadLetters.filter((d) => d.poison).length).toBeGreaterThanOrEqual(
      figures.plan.poison - 2,
    );
    expect(figures.parked).toBe(0);
    // Alone it takes about a minute; `npm test` runs it in a process of its own (a long run's heap
    // slowed it 3x), and the limit is for a hang, not for speed (the bench measures speed).
  }, 300_000);

  it('hostile webhooks: every route refuses malformed, unsigned, forged, stale, replayed, oversized and nested requests with 4xx and enqueues nothing', async () => {
    const figures = await runHostile({ requests: 260, concurrency: 4 });
    for (const route of figures.routes) {
      expect({ route: route.route, serverErrors: route.serverErrors }).toEqual({
        route: route.route,
        serverErrors: 0,
      });
      // UpKeep signs nothing and sends no delivery id: its replays are enqueued as duplicates (the
      // flows' keyed effects absorb them); every other case on every route enqueues nothing.
      const enqueuing = route.cases
        .filter((c) => c.enqueued > 0 && !(route.route.includes('upkeep') && isReplay(c.name)))
        .map((c) => c.name);
      expect({ route: route.route, enqueuing }).toEqual({ route: route.route, enqueuing: [] });
      // The replay case started from a valid request that was accepted once.
      expect(route.baselineEnqueued).toBeGreaterThan(0);
    }
    expect(figures.routes.map((r) => r.route).sort()).toEqual([
      'POST /webhooks/machinemetrics',
      'POST /webhooks/mobility-work',
      'POST /webhooks/upkeep/{token}',
    ]);
  }, 60_000);
});
