/**
 * The sandbox's other side: the simulated vendors' records the flows produced (work orders,
 * purchase orders, tasks, stock) and the controls a newcomer presses to watch a flow happen end to
 * end: a machine goes down or up, a technician takes a part. Refreshes every 3 s.
 */
import { useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { Empty, ErrorBox, html, Loading, Time, useLoad } from '../ui.js';
import { RunsTable } from './runs.js';

export function SandboxPage() {
  const world = useLoad(() => get('/api/sandbox'), [], 3000);
  const recent = useLoad(() => get('/api/runs?limit=6'), [], 3000);
  const [note, setNote] = useState(null);
  const control = async (path, body, label) => {
    setNote({ text: `${label}…` });
    try {
      const answer = await post(path, body);
      setNote({ text: answer.message ?? `${label}: done` });
    } catch (error) {
      setNote({ text: error.message, error: true });
    }
    world.reload();
    recent.reload();
  };
  if (world.error?.status === 404) {
    return html`<h1>Sandbox</h1><${Empty}>This console operates a deployed stack: the simulators and their controls exist only in the
      sandbox (<code>npm start</code>, or <code>millwright console --sandbox</code>).<//>`;
  }
  const data = world.data;
  return html`<h1>Sandbox</h1>
    <p class="lead">The simulated vendors, as the flows left them. Press a control and watch the runs and the records change.</p>
    ${world.loading && !data ? html`<${Loading} what="the simulators" />` : null}
    <${ErrorBox} error=${world.error} />
    ${note && html`<p class=${note.error ? 'error' : 'note'} role="status" data-testid="control-note">${note.text}</p>`}
    ${
      data &&
      html`<div class="columns">
        <section aria-labelledby="machines">
          <h2 id="machines">Machines <span class="muted small">MachineMetrics</span></h2>
          <table class="machines">
            <thead><tr><th scope="col">Machine</th><th scope="col">State</th><th scope="col"><span class="sr-only">Controls</span></th></tr></thead>
            <tbody>${data.machines.map(
              (m) => html`<tr key=${m.id} data-machine=${m.id}>
                <td>${m.name}<div class="muted small">${m.mapped ? 'a flow acts on its downtime' : 'no flow maps it: its downtime makes nothing'}</div></td>
                <td>${
                  m.down
                    ? html`<span class="badge tone-bad">down</span>${m.downSince ? html`<div class="muted small">since <${Time} iso=${m.downSince} /></div>` : null}`
                    : html`<span class="badge tone-ok">running</span>`
                }</td>
                <td class="controls">
                  <button type="button" disabled=${m.down} onClick=${() => control(`/api/sandbox/machines/${encodeURIComponent(m.id)}/down`, {}, `${m.name} goes down`)}>Machine down</button>
                  <button type="button" disabled=${!m.down} onClick=${() => control(`/api/sandbox/machines/${encodeURIComponent(m.id)}/up`, {}, `${m.name} comes back up`)}>Machine up</button>
                </td>
              </tr>`,
            )}</tbody>
          </table>
        </section>
        <section aria-labelledby="parts">
          <h2 id="parts">Parts <span class="muted small">UpKeep and Mobility Work stock</span></h2>
          <table class="parts">
            <thead><tr><th scope="col">Part</th><th scope="col" class="num">UpKeep</th><th scope="col" class="num">Mobility Work</th><th scope="col" class="num">Minimum</th><th scope="col"><span class="sr-only">Controls</span></th></tr></thead>
            <tbody>${data.parts.map(
              (p) => html`<tr key=${p.id} data-part=${p.id}>
                <td>${p.name}<div class="muted small">${p.id}</div></td>
                <td class=${`num ${low(p.upkeepQuantity, p.minimum) ? 'bad' : ''}`}>${show(p.upkeepQuantity)}</td>
                <td class=${`num ${low(p.mobilityWorkStock, p.minimum) ? 'bad' : ''}`}>${show(p.mobilityWorkStock)}</td>
                <td class="num">${show(p.minimum)}</td>
                <td class="controls"><button type="button" onClick=${() => control(`/api/sandbox/parts/${encodeURIComponent(p.id)}/consume`, { quantity: 1 }, `A technician takes one ${p.name}`)}>Consume 1</button></td>
              </tr>`,
            )}</tbody>
          </table>
        </section>
      </div>
      <div class="columns records-columns">
      <${Records} id="work-orders" title="Work orders" vendor="UpKeep, Click Maint, Deepomatic" records=${data.workOrders} empty="No work orders yet: a machine that goes down makes one." />
      <${Records} id="purchase-orders" title="Purchase orders" vendor="UpKeep" records=${data.purchaseOrders} empty="No purchase orders yet: consume a part below its minimum." />
      <${Records} id="tasks" title="Tasks" vendor="Mobility Work" records=${data.tasks} empty="No tasks yet." />
      </div>
      <section aria-labelledby="recent">
        <h2 id="recent">Latest runs</h2>
        ${
          recent.data?.entries.length
            ? html`<${RunsTable} entries=${recent.data.entries} />`
            : html`<${Empty}>No runs yet: press <strong>Machine down</strong> above. The downtime poll sees it on its next run, the flows' runs show here, and their work orders and tasks in the lists above.<//>`
        }
        <p><a href="#/runs">All runs</a></p>
      </section>`
    }`;
}

const show = (n) => (n === undefined || n === null ? '—' : String(n));
const low = (n, min) => typeof n === 'number' && typeof min === 'number' && n <= min;

/** A list of simulator records: the fields a person reads, newest first. */
function Records({ id, title, vendor, records, empty }) {
  const list = records ?? [];
  return html`<section aria-labelledby=${id}>
    <h2 id=${id}>${title} <span class="muted small">${vendor}${list.length ? `, ${list.length}${list.length > 10 ? ', newest 10 shown' : ''}` : ''}</span></h2>
    ${
      list.length === 0
        ? html`<p class="muted">${empty}</p>`
        : html`<table class="records">
          <thead><tr><th scope="col">Id</th><th scope="col">What</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
          <tbody>${list.slice(0, 10).map(
            (r) => html`<tr key=${r.id}>
              <td><a href=${`#/runs?subject=${encodeURIComponent(r.id)}`} title="Runs about this record"><code>${r.id}</code></a>${r.vendor ? html`<div class="muted small">${r.vendor}</div>` : null}</td>
              <td>${r.title || '—'}${r.asset ? html`<div class="muted small">${r.asset}</div>` : null}</td>
              <td>${r.status ?? '—'}</td>
              <td class="when">${r.createdAt ? html`<${Time} iso=${r.createdAt} />` : '—'}</td>
            </tr>`,
          )}</tbody>
        </table>`
    }
  </section>`;
}
