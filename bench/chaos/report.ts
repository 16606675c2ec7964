/** The chaos and hostile runs' figures as plain tables. */
import { type HostileFigures, isReplay } from './hostile.ts';
import type { ChaosFigures } from './run.ts';

const pad = (s: string | number, n: number) => String(s).padStart(n);
const padEnd = (s: string | number, n: number) => String(s).padEnd(n);
/** An event's type and id from a message body, for a dead letter that is not poison. */
function eventOf(body: string): string {
  try {
    const e = JSON.parse(body) as { type?: unknown; id?: unknown };
    return `${String(e.type)} ${String(e.id)}`;
  } catch {
    return body.slice(0, 60);
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function printChaos(f: ChaosFigures, out: (line: string) => void): void {
  const speed = 60_000 / f.scaleMs;
  out(`\nChaos run (seed ${f.seed}; 1 simulated minute = ${f.scaleMs} ms real, ${speed}x)`);
  out(
    `  plan: ${f.plan.machines} machines x ${f.plan.cycles} downtime episodes, ${f.plan.mwParts} Mobility Work parts and ${f.plan.upkeepParts} UpKeep parts x ${f.plan.cycles} low episodes, ${f.plan.poison} poison, over ${f.plan.spanMinutes.toFixed(0)} simulated minutes`,
  );
  out(`  events sent                 ${pad(f.eventsSent, 8)}`);
  out(
    `  flow events enqueued        ${pad(f.enqueued, 8)}  (incl. ${f.duplicatesSent} duplicate deliveries)`,
  );
  out(`  worker crashes after effect ${pad(f.crashes, 8)}`);
  for (const [k, v] of Object.entries(f.faultsHit)) if (k !== 'crash') out(`  ${padEnd(k, 36)}${pad(v, 8)}`);
  out('');
  out(
    `  ${padEnd('flow / effect', 96)}${pad('expected', 9)}${pad('observed', 9)}${pad('lost', 6)}${pad('dup', 6)}`,
  );
  for (const r of f.flows) {
    out(
      `  ${padEnd(`${r.flow}: ${r.effect}`, 96)}${pad(r.expected, 9)}${pad(r.observed, 9)}${pad(r.lost, 6)}${pad(r.duplicated, 6)}`,
    );
    for (const e of r.examples) out(`      e.g. ${e}`);
  }
  out(
    `  ${padEnd('total', 96)}${pad(f.expected, 9)}${pad(f.observed, 9)}${pad(f.lost, 6)}${pad(f.duplicated, 6)}`,
  );
  out('');
  const poison = f.deadLetters.filter((d) => d.poison).length;
  out(
    `  in DLQ                      ${pad(f.deadLetters.length, 8)}  (${poison} deliberate poison, ${new Set(f.deadLetters.filter((d) => d.poison).map((d) => d.body)).size} distinct of ${f.plan.poison} sent; ${f.deadLetters.length - poison} not poison)`,
  );
  for (const d of f.deadLetters.slice(0, 20)) {
    out(
      `    ${d.poison ? 'poison    ' : 'NOT POISON'} ${d.flow}: ${(d.reason ?? '(no reason: redriven by SQS after maxReceiveCount)').slice(0, 120)}${d.poison ? '' : ` [${eventOf(d.body)}]`}`,
    );
  }
  if (f.deadLetters.length > 20) out(`    ... ${f.deadLetters.length - 20} more`);
  out(`  parked (needs attention)    ${pad(f.parked, 8)}`);
  out(
    `  UpKeep outage ${f.outage.minutes} simulated min; drain after it ended: ${secs(f.outage.drainRealMs)} real = ${f.outage.drainSimMinutes.toFixed(0)} simulated min`,
  );
  out(`  wall time ${secs(f.wallMs)}, ${f.eventsPerSecond.toFixed(1)} events/s`);
  out(
    `  result: ${f.failed ? 'FAILED (lost, duplicated or non-poison in DLQ)' : 'ok: 0 lost, 0 duplicated, DLQ only poison'}`,
  );
}

export function printHostile(f: HostileFigures, out: (line: string) => void): void {
  out(`\nHostile-webhook run: ${f.requestsPerRoute} requests per route`);
  for (const r of f.routes) {
    out(`\n  ${r.route}  (${secs(r.wallMs)}, ${(r.requests / (r.wallMs / 1000)).toFixed(0)} req/s)`);
    out(`    ${padEnd('case', 22)}${pad('sent', 7)}${pad('enqueued', 10)}  status codes`);
    for (const c of r.cases) {
      const codes = Object.entries(c.statuses)
        .map(([s, n]) => `${s} x${n}`)
        .join(', ');
      out(`    ${padEnd(c.name, 22)}${pad(c.sent, 7)}${pad(c.enqueued, 10)}  ${codes}`);
    }
    const replays = r.cases.filter((c) => isReplay(c.name)).reduce((n, c) => n + c.enqueued, 0);
    out(
      `    5xx ${r.serverErrors}; events enqueued by hostile cases ${r.enqueued - replays}; duplicates enqueued by replays ${replays}; queue depth delta ${r.queueDelta}; the valid request sent once before the run enqueued ${r.baselineEnqueued}`,
    );
  }
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  out(
    `\n  memory: RSS before ${mb(f.memory.rssBefore)}, peak ${mb(f.memory.rssPeak)}, after ${mb(f.memory.rssAfter)}; heap before ${mb(f.memory.heapBefore)}, peak ${mb(f.memory.heapPeak)}, after GC ${mb(f.memory.heapAfter)} (${f.memory.flat ? 'flat' : 'GREW'}${f.memory.gc ? '' : ', no global.gc: run with node --expose-gc'})`,
  );
  out(`  result: ${f.failed ? 'FAILED' : 'ok: 0 5xx, 0 new events enqueued, memory flat'}`);
}
