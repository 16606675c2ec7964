/**
 * Flows: one card per flow: what it connects, whether it runs, what waits in its queues, its polls,
 * its runs per outcome over the last 24 hours, and the breakers / rate limits of its vendors.
 */
import { get } from '../api.js';
import { duration, Empty, ErrorBox, html, Loading, OUTCOME_ORDER, outcomeOf, Time, useLoad } from '../ui.js';

export function FlowsPage() {
  const { data, error, loading } = useLoad(() => get('/api/overview'), [], 10_000);
  return html`<h1>Flows</h1>
    ${loading && !data ? html`<${Loading} what="the flows" />` : null}
    <${ErrorBox} error=${error} />
    ${
      data &&
      html`<p class="lead">
        ${data.flows.length} flow(s) on ${data.target?.label ?? 'this target'}, as of <${Time} iso=${data.now} />; refreshes every 10 s.
      </p>
      ${
        data.flows.length === 0
          ? html`<${Empty}>No flow is enabled in this deployment's config. Enable one under <code>flows</code> in the config file, then restart.<//>`
          : html`<div class="cards">${data.flows.map((flow) => html`<${FlowCard} key=${flow.flowId} flow=${flow} overview=${data} />`)}</div>`
      }`
    }`;
}

function FlowCard({ flow, overview }) {
  const dlq = flow.deadLetters?.depth ?? 0;
  const queued = (flow.queue?.visible ?? 0) + (flow.queue?.inFlight ?? 0) + (flow.queue?.delayed ?? 0);
  return html`<article class="card" data-flow=${flow.flowId} aria-labelledby=${`flow-${flow.flowId}`}>
    <header class="card-head">
      <h2 id=${`flow-${flow.flowId}`}>${flow.flowId}</h2>
      ${
        flow.paused
          ? html`<span class="badge tone-warn" title="Its queue keeps events until it is resumed (Failures page)">paused</span>`
          : html`<span class="badge tone-ok">running</span>`
      }
    </header>
    <p class="desc">${flow.description}</p>
    <${Diagram} flow=${flow} />
    <dl class="figures">
      <div><dt>Queue</dt><dd title="visible / in flight / delayed">${queued === 0 ? 'empty' : `${flow.queue.visible} waiting, ${flow.queue.inFlight} in flight, ${flow.queue.delayed} delayed`}</dd></div>
      <div><dt title="The age of the oldest dead-lettered message. The live queue's is not read here: peeking a message counts as a receive toward its redrive limit (in AWS, see the queue's ApproximateAgeOfOldestMessage metric).">Oldest dead letter</dt><dd>${flow.oldestMessageAgeSeconds ? duration(flow.oldestMessageAgeSeconds) : '—'}</dd></div>
      <div><dt>Dead letters</dt><dd class=${dlq > 0 ? 'bad' : ''}>${dlq === 0 ? 'none' : html`<a href="#/failures">${dlq} failed${flow.deadLetters.oldestSentAt ? html`, oldest <${Time} iso=${flow.deadLetters.oldestSentAt} />` : ''}</a>`}</dd></div>
      <div><dt>Parked</dt><dd class=${flow.parked > 0 ? 'bad' : ''}>${flow.parked > 0 ? html`<a href="#/failures">${flow.parked} need attention</a>` : 'none'}</dd></div>
      ${(flow.polls ?? []).map(
        (poll) =>
          html`<div class="wide"><dt>Last poll <span class="muted">${poll.sourceId}</span></dt><dd>${
            poll.lastRun
              ? html`<${Time} iso=${poll.lastRun.at} />: ${
                  poll.lastRun.error
                    ? html`<span class="bad" title=${poll.lastRun.error}>failed: ${excerpt(poll.lastRun.error)}</span>`
                    : html`<span title=${poll.lastRun.summary}>${pollWords(poll.lastRun)}</span>`
                }`
              : 'not yet run'
          }</dd></div>`,
      )}
    </dl>
    ${
      flow.lastError &&
      html`<p class="last-error">Last error <${Time} iso=${flow.lastError.at} />:
      <a href=${`#/events/${encodeURIComponent(flow.lastError.eventId)}`}>${flow.lastError.message}</a></p>`
    }
    <${DayChart} flow=${flow} />
    <${VendorStates} flow=${flow} overview=${overview} />
    <p class="card-links"><a href=${`#/runs?flow=${encodeURIComponent(flow.flowId)}`}>Runs of this flow</a></p>
  </article>`;
}

const excerpt = (text, max = 110) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A poll run in a few words: what it found; its whole summary is on hover. */
const pollWords = (run) =>
  run.events > 0 || run.skipped > 0
    ? `${run.events} new event(s)${run.skipped ? `, ${run.skipped} skipped` : ''}`
    : excerpt(run.summary);

/** Source -> flow -> targets, as boxes and arrows. */
function Diagram({ flow }) {
  // One box per vendor: MachineMetrics polled and by webhook is one source, two ways in.
  const byVendor = new Map();
  for (const s of flow.source ?? []) byVendor.set(s.vendor, [...(byVendor.get(s.vendor) ?? []), s.kind]);
  const sources = [...byVendor].map(([vendor, kinds]) => ({ vendor, kind: [...new Set(kinds)].join(' + ') }));
  const targets = flow.targets ?? [];
  return html`<div class="diagram" aria-label=${`From ${sources.map((s) => `${s.vendor} (${s.kind})`).join(', ')} to ${targets.join(', ')}`}>
    <div class="nodes">${sources.map((s) => html`<span class="node source">${s.vendor}<small>${s.kind}</small></span>`)}</div>
    <span class="arrow" aria-hidden="true">→</span>
    <span class="node flow">flow</span>
    <span class="arrow" aria-hidden="true">→</span>
    <div class="nodes">${targets.length ? targets.map((t) => html`<span class="node target">${t}</span>`) : html`<span class="node target muted">nothing</span>`}</div>
  </div>`;
}

/** Runs per hour over the last 24 h, stacked by outcome, as inline SVG. */
function DayChart({ flow }) {
  const day = flow.last24h;
  if (!day?.hours?.length) return null;
  const outcomes = Object.keys(day.counts).sort((a, b) => rank(a) - rank(b));
  const totals = day.hours.map((_, i) => outcomes.reduce((n, o) => n + (day.counts[o][i] ?? 0), 0));
  const sum = totals.reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...totals);
  const W = 10;
  const H = 40;
  const bars = day.hours.map((hour, i) => {
    let y = H;
    const parts = outcomes
      .filter((o) => (day.counts[o][i] ?? 0) > 0)
      .map((o) => {
        const n = day.counts[o][i];
        const height = Math.max(1.5, (n / max) * H);
        y -= height;
        return html`<rect x=${i * W + 1} y=${y} width=${W - 2} height=${height} class=${fillOf(o)}><title>${new Date(hour).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${n} ${outcomeOf(o).label}</title></rect>`;
      });
    return parts;
  });
  return html`<figure class="chart">
    <figcaption>Last 24 h: ${sum === 0 ? 'no runs' : `${day.truncated ? 'at least ' : ''}${sum} run(s)`}</figcaption>
    <svg viewBox=${`0 0 ${day.hours.length * W} ${H}`} preserveAspectRatio="none" role="img" aria-label=${`Runs per hour over the last 24 hours: ${sum} in all`}>
      <line x1="0" y1=${H - 0.5} x2=${day.hours.length * W} y2=${H - 0.5} class="axis" />
      ${bars}
    </svg>
    ${
      sum > 0 &&
      html`<ul class="legend">${outcomes
        .filter((o) => day.counts[o].some((n) => n > 0))
        .map(
          (o) =>
            html`<li><span class=${`swatch ${fillOf(o)}`}></span>${outcomeOf(o).label} ${day.counts[o].reduce((a, b) => a + b, 0)}</li>`,
        )}</ul>`
    }
  </figure>`;
}

/** Each outcome its own colour in the chart (the badges' tones group them; the chart tells them apart). */
const fillOf = (outcome) =>
  OUTCOME_ORDER.includes(outcome) ? `fill-o-${outcome}` : `fill-${outcomeOf(outcome).tone}`;

const rank = (outcome) => {
  const i = OUTCOME_ORDER.indexOf(outcome);
  return i < 0 ? OUTCOME_ORDER.length : i;
};

/** The circuit breakers and rate limits of the vendors this flow calls. */
function VendorStates({ flow, overview }) {
  const vendors = flow.vendors ?? [];
  if (vendors.length === 0) return null;
  return html`<ul class="vendors" aria-label="Vendor accounts">
    ${vendors.map((vendor) => {
      const breakers = (overview.breakers ?? []).filter((b) => b.vendor === vendor);
      const limits = (overview.rateLimits ?? []).filter(
        (r) => r.key === vendor || r.key.startsWith(`${vendor}:`),
      );
      const open = breakers.find((b) => b.status !== 'closed');
      return html`<li>
        <strong>${vendor}</strong>
        ${
          open
            ? html`<span class="badge tone-bad" title=${open.reason ?? ''}>breaker ${open.status}${open.openUntil ? html`, next try <${Time} iso=${open.openUntil} />` : ''}</span>`
            : html`<span class="badge tone-ok" title="Calls go through">breaker closed</span>`
        }
        ${limits.map(
          (l) =>
            html`<span class=${`badge ${l.pausedUntil ? 'tone-warn' : 'tone-quiet'}`} title=${`${l.key}${l.updatedAt ? `, last use ${l.updatedAt}` : ''}`}>${l.pausedUntil ? html`rate limited until <${Time} iso=${l.pausedUntil} />` : Number.isNaN(l.tokens) || l.tokens === null ? 'rate limit: full' : `rate limit: ${l.tokens} tokens left after its last use (it refills)`}</span>`,
        )}
      </li>`;
    })}
  </ul>`;
}
