/**
 * Failures: each flow's dead-letter queue with the reason of every message, and its parked events.
 * Replay one, some or all (at the CLI's rate, at most 1000/s), pause or resume the flow, backfill a
 * window: each asks the server for a dry run first and shows what will happen before it acts.
 */
import { useState } from 'preact/hooks';
import { get } from '../api.js';
import { ConfirmAction, ErrorBox, html, Loading, Time, useLoad } from '../ui.js';

/** The CLI's `--rate` default and ceiling (cli/output.ts parseRate); the server checks it again. */
const DEFAULT_RATE = 10;
const MAX_RATE = 1000;

export function FailuresPage() {
  const [action, setAction] = useState(null);
  // No refresh while an action's dialog is open: listing a dead-letter queue holds its messages
  // for a moment, and a replay scanning the queue then would miss them.
  const { data, error, loading, reload } = useLoad(() => get('/api/failures'), [], action ? 0 : 15_000);
  // Which poll sources each flow can backfill (the overview says; webhook-only flows have none).
  const overview = useLoad(() => get('/api/overview'), []);
  const backfillOf = (flowId) =>
    (overview.data?.flows.find((f) => f.flowId === flowId)?.backfill ?? []).filter((b) => b.supported);
  const total = data?.flows.reduce((n, f) => n + f.deadLetters.length + f.parked.length, 0) ?? 0;
  return html`<h1>Failures</h1>
    ${loading && !data ? html`<${Loading} what="the dead-letter queues" />` : null}
    <${ErrorBox} error=${error} />
    ${
      data &&
      html`<p class="lead">${
        total === 0
          ? 'Nothing failed: every dead-letter queue is empty and nothing is parked.'
          : `${total} event(s) wait for an operator.`
      }${' '}
        Pause, resume and backfill each flow here too.</p>
      ${withFailuresFirst(data.flows).map((flow) => html`<${FlowFailures} key=${flow.flowId} flow=${flow} act=${setAction} sources=${backfillOf(flow.flowId)} />`)}`
    }
    ${action && html`<${ConfirmAction} action=${action} onClose=${() => setAction(null)} onDone=${reload} />`}`;
}

/** Flows with something waiting come first; the rest keep the server's order. */
const withFailuresFirst = (flows) => {
  const waiting = (f) => f.deadLetters.length + f.parked.length > 0;
  return [...flows.filter(waiting), ...flows.filter((f) => !waiting(f))];
};

function FlowFailures({ flow, act, sources }) {
  const [selected, setSelected] = useState(new Set());
  const [rate, setRate] = useState(DEFAULT_RATE);
  const [showBackfill, setShowBackfill] = useState(false);
  const path = (what) => `/api/flows/${encodeURIComponent(flow.flowId)}/${what}`;
  const ratePerSecond = Math.min(MAX_RATE, Math.max(0.1, Number(rate) || DEFAULT_RATE));
  const replay = (ids) =>
    act({
      title: ids
        ? `Replay ${ids.length} event(s) of ${flow.flowId}`
        : `Replay every failed event of ${flow.flowId}`,
      verb: ids ? `Replay ${ids.length}` : 'Replay all',
      path: path('replay'),
      body: ids ? { ids, ratePerSecond } : { all: true, ratePerSecond },
    });
  const toggle = (id) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const letters = flow.deadLetters;
  // By message id: several messages can share an event id (`(unreadable)` bodies, a copy left by a
  // crashed replay), and a row's button must act on that row only.
  const chosen = letters.filter((d) => selected.has(d.messageId)).map((d) => d.messageId);
  return html`<section class="flow-failures" data-flow=${flow.flowId} aria-labelledby=${`failures-${flow.flowId}`}>
    <header class="section-head">
      <h2 id=${`failures-${flow.flowId}`}>${flow.flowId} ${flow.paused ? html`<span class="badge tone-warn">paused</span>` : null}
        ${letters.length + flow.parked.length === 0 ? html`<span class="muted small quiet-note">nothing failed</span>` : null}</h2>
      <div class="toolbar">
        ${
          flow.paused
            ? html`<button type="button" onClick=${() => act({ title: `Resume ${flow.flowId}`, verb: 'Resume', path: path('resume'), body: {} })}>Resume</button>`
            : html`<button type="button" onClick=${() => act({ title: `Pause ${flow.flowId}`, verb: 'Pause', path: path('pause'), body: {} })}>Pause</button>`
        }
        ${
          sources.length > 0
            ? html`<button type="button" aria-expanded=${showBackfill} onClick=${() => setShowBackfill(!showBackfill)}>Backfill…</button>`
            : null
        }
      </div>
    </header>
    ${showBackfill && html`<${BackfillForm} flow=${flow} sources=${sources} rate=${ratePerSecond} act=${act} path=${path('backfill')} />`}
    ${
      letters.length === 0
        ? null
        : html`<div class="toolbar replay-bar">
            <label>Rate <input type="number" min="0.1" max=${MAX_RATE} step="any" value=${rate} onInput=${(e) => setRate(e.currentTarget.value)} class="narrow" /> events/s</label>
            <button type="button" disabled=${chosen.length === 0} onClick=${() => replay(chosen)}>Replay selected (${chosen.length})</button>
            <button type="button" class="primary" onClick=${() => replay(undefined)}>Replay all ${letters.length}</button>
          </div>
          <table class="dead-letters">
            <thead><tr><th scope="col"><span class="sr-only">Select</span></th><th scope="col">Event</th><th scope="col">Subject</th><th scope="col">Why it failed</th><th scope="col">Failed</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
            <tbody>${letters.map(
              (d) => html`<tr key=${d.messageId}>
                <td><input type="checkbox" aria-label=${`Select ${d.eventId}`} checked=${selected.has(d.messageId)} onChange=${() => toggle(d.messageId)} /></td>
                <td><a href=${`#/events/${encodeURIComponent(d.eventId)}`}><code>${d.eventId}</code></a><div class="muted small">${d.eventType}</div></td>
                <td>${d.subject ? html`<a href=${`#/runs?subject=${encodeURIComponent(d.subject)}`}>${d.subject}</a>` : '—'}</td>
                <td class="reason">${d.reason}</td>
                <td class="when">${d.sentAt ? html`<${Time} iso=${d.sentAt} />` : d.age ? `${d.age} ago` : '—'}</td>
                <td><button type="button" onClick=${() => replay([d.messageId])} aria-label=${`Replay ${d.eventId}`}>Replay</button></td>
              </tr>`,
            )}</tbody>
          </table>`
    }
    ${
      flow.parked.length > 0 &&
      html`<h3>Parked: needs attention</h3>
      <p class="muted small">Parked events wait for a person: read the check, then use <code>millwright parked replay ${flow.flowId} --id …</code> or <code>discard</code>.</p>
      <table class="parked">
        <thead><tr><th scope="col">Event</th><th scope="col">Why it was parked</th><th scope="col">Check before replaying</th><th scope="col">Parked</th></tr></thead>
        <tbody>${flow.parked.map(
          (p) => html`<tr key=${p.id}>
            <td><a href=${`#/events/${encodeURIComponent(p.eventId)}`}><code>${p.eventId}</code></a><div class="muted small">${p.eventType}</div></td>
            <td class="reason">${p.reason}</td>
            <td>${p.check}</td>
            <td class="when"><${Time} iso=${p.at} /></td>
          </tr>`,
        )}</tbody>
      </table>`
    }
  </section>`;
}

function BackfillForm({ flow, sources, rate, act, path }) {
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const from = new Date(String(form.get('from'))).toISOString();
    const to = new Date(String(form.get('to'))).toISOString();
    const sourceId = form.get('sourceId');
    act({
      title: `Backfill ${flow.flowId}`,
      verb: 'Backfill',
      path,
      body: { from, to, ratePerSecond: rate, ...(sourceId ? { sourceId } : {}) },
    });
  };
  return html`<form class="backfill" onSubmit=${submit}>
    <p class="muted small">Ask the source again for a past window and run what it returns through the flow; what was already handled is recognised and not made twice.</p>
    ${
      sources.length > 1
        ? html`<label>Source <select name="sourceId">${sources.map((b) => html`<option value=${b.sourceId}>${b.sourceId}</option>`)}</select></label>`
        : null
    }
    <label>From <input type="datetime-local" name="from" required /></label>
    <label>To <input type="datetime-local" name="to" required /></label>
    <button type="submit">Preview backfill</button>
    ${sources.length === 1 && sources[0].note ? html`<p class="muted small">${sources[0].sourceId}: ${sources[0].note}</p>` : null}
  </form>`;
}
