/**
 * Runs: the run log, newest first, filtered by flow, outcome, time range and subject (a machine, work
 * order, part or task: its whole story across flows), paged with the server's cursor. The filters
 * live in the address (`#/runs?flow=&outcome=&subject=&since=&until=`), so a view can be shared.
 */
import { useState } from 'preact/hooks';
import { get } from '../api.js';
import { Empty, ErrorBox, html, Loading, OUTCOME_ORDER, Outcome, outcomeOf, Time, useLoad } from '../ui.js';

/** Runs per page; `#/runs?limit=N` asks for another (the server caps it). */
const PAGE_SIZE = 50;

/** datetime-local wants `YYYY-MM-DDTHH:mm` in local time; the address keeps ISO. */
const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const fromLocalInput = (value) => (value ? new Date(value).toISOString() : '');

export function RunsPage({ params }) {
  const filters = {
    flow: params.get('flow') ?? '',
    outcome: params.get('outcome') ?? '',
    subject: params.get('subject') ?? '',
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
  };
  const key = JSON.stringify({ ...filters, limit: params.get('limit') ?? '' });
  // Older pages: the cursors of the pages before the one shown (to go back to newer ones).
  const [pages, setPages] = useState({ key, cursors: [] });
  const cursors = pages.key === key ? pages.cursors : [];
  const cursor = cursors[cursors.length - 1];
  const flows = useLoad(() => get('/api/overview'), []);
  const runs = useLoad(() => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    q.set('limit', params.get('limit') ?? String(PAGE_SIZE));
    if (cursor) q.set('cursor', cursor);
    return get(`/api/runs?${q}`);
  }, [key, cursor]);

  return html`<h1>Runs</h1>
    <${Filters} key=${key} filters=${filters} flowIds=${flows.data?.flows.map((f) => f.flowId) ?? []} />
    <${ErrorBox} error=${runs.error} />
    ${runs.loading && !runs.data ? html`<${Loading} what="runs" />` : null}
    ${
      runs.data &&
      html`${
        runs.data.entries.length === 0
          ? html`<${Empty}>${emptyText(filters, cursor)}<//>`
          : html`<${RunsTable} entries=${runs.data.entries} showFlow=${!filters.flow} />`
      }
      <nav class="pager" aria-label="Pages of runs">
        <button type="button" disabled=${cursors.length === 0} onClick=${() => setPages({ key, cursors: cursors.slice(0, -1) })}>← Newer</button>
        <span class="muted">${cursors.length === 0 ? 'Newest runs' : `Page ${cursors.length + 1}`}</span>
        <button type="button" disabled=${!runs.data.more || !runs.data.nextCursor} onClick=${() => setPages({ key, cursors: [...cursors, runs.data.nextCursor] })}>Older →</button>
      </nav>`
    }`;
}

function emptyText(filters, cursor) {
  if (cursor) return 'No older runs.';
  if (filters.subject) {
    return html`Nothing in the run log is about <strong>${filters.subject}</strong>${filters.flow ? ` in ${filters.flow}` : ''}. Check the id (a machine, work order, part or task id, as the vendor writes it), or widen the time range.`;
  }
  if (Object.values(filters).some(Boolean)) return 'No runs match these filters. Clear some to see more.';
  return html`No runs yet. In the sandbox, press <strong>Machine down</strong> on the <a href="#/sandbox">Sandbox</a> page, and the flows' runs appear here.`;
}

function Filters({ filters, flowIds }) {
  const chosen = new Set(filters.outcome.split(',').filter(Boolean));
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const q = new URLSearchParams();
    const set = (k, v) => v && q.set(k, v);
    set('flow', form.get('flow'));
    set('outcome', form.getAll('outcome').join(','));
    set('subject', String(form.get('subject') ?? '').trim());
    set('since', fromLocalInput(form.get('since')));
    set('until', fromLocalInput(form.get('until')));
    location.hash = `#/runs${q.size ? `?${q}` : ''}`;
  };
  // Uncontrolled fields (default values): a re-render while someone types (the flow list or the
  // runs arriving) must not put the old value back. RunsPage re-makes the form (its key) when the address changes.
  return html`<form class="filters" onSubmit=${submit} role="search">
    <label class="subject">Subject
      <input type="search" name="subject" defaultValue=${filters.subject} placeholder="machine, work order, part or task id" autocomplete="off" />
    </label>
    <label>Flow
      <select name="flow">
        <option value="">every flow</option>
        ${flowIds.map((id) => html`<option value=${id} selected=${id === filters.flow}>${id}</option>`)}
        ${filters.flow && !flowIds.includes(filters.flow) ? html`<option value=${filters.flow} selected>${filters.flow}</option>` : null}
      </select>
    </label>
    <label>From <input type="datetime-local" name="since" defaultValue=${toLocalInput(filters.since)} /></label>
    <label>To <input type="datetime-local" name="until" defaultValue=${toLocalInput(filters.until)} /></label>
    <fieldset class="outcomes">
      <legend>Outcome <span class="muted">(none ticked: all)</span></legend>
      ${OUTCOME_ORDER.map(
        (o) =>
          html`<label class="check" title=${outcomeOf(o).means}><input type="checkbox" name="outcome" value=${o} defaultChecked=${chosen.has(o)} /> ${outcomeOf(o).label}</label>`,
      )}
    </fieldset>
    <div class="filter-actions">
      <button type="submit" class="primary">Search</button>
      <a href="#/runs">Clear</a>
    </div>
  </form>`;
}

export function RunsTable({ entries, showFlow = true }) {
  return html`<table class="runs">
    <thead><tr><th scope="col">When</th>${showFlow ? html`<th scope="col">Flow</th>` : null}<th scope="col">Subject</th><th scope="col">Outcome</th><th scope="col">What happened</th></tr></thead>
    <tbody>
      ${entries.map(
        (e) => html`<tr key=${`${e.eventId}-${e.at}-${e.outcome}`}>
          <td class="when"><${Time} iso=${e.at} /></td>
          ${showFlow ? html`<td class="flow"><a href=${`#/runs?flow=${encodeURIComponent(e.flowId)}`}>${e.flowId}</a></td>` : null}
          <td>${e.subject ? html`<a href=${`#/runs?subject=${encodeURIComponent(e.subject)}`}>${e.subject}</a>` : html`<span class="muted">—</span>`}</td>
          <td><${Outcome} outcome=${e.outcome} />${e.via ? html` <span class="muted">via ${e.via}</span>` : null}</td>
          <td class="message"><a href=${`#/events/${encodeURIComponent(e.eventId)}`} title="The whole story of this event">${e.message || e.eventType}</a>
            <div class="muted small">${e.eventType}</div></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
