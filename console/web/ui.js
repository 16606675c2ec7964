/**
 * What every page shares: the html tag, outcome words, local times with their age, loading and
 * empty states, and the confirmation dialog every state-changing button goes through.
 */

import htm from 'htm';
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { followJob, post } from './api.js';

export const html = htm.bind(h);

/** Each outcome as an engineer reads it: a label, a tone for its colour, and what it means. */
export const OUTCOMES = {
  done: { label: 'done', tone: 'ok', means: 'the flow made its change in the target system' },
  skipped: { label: 'skipped', tone: 'quiet', means: 'nothing to do for this event' },
  duplicate: { label: 'duplicate', tone: 'quiet', means: 'already handled: nothing was made twice' },
  echo: {
    label: 'echo',
    tone: 'quiet',
    means: 'our own write coming back from the vendor: not sent on again',
  },
  stale: { label: 'stale', tone: 'quiet', means: 'older than what was already applied: ignored' },
  retrying: { label: 'retrying', tone: 'warn', means: 'failed for now; it is tried again after a delay' },
  waiting: {
    label: 'waiting',
    tone: 'warn',
    means: 'waiting for something it needs (a record, a lock); tried again soon',
  },
  held: { label: 'held', tone: 'warn', means: "held back while the vendor's circuit breaker is open" },
  'needs-attention': {
    label: 'needs attention',
    tone: 'bad',
    means: 'parked: a person must check it before it runs again (see Failures)',
  },
  failed: { label: 'failed', tone: 'bad', means: 'the attempt failed' },
  'dead-lettered': {
    label: 'dead-lettered',
    tone: 'bad',
    means: 'given up on: it waits in the dead-letter queue; replay it from Failures',
  },
  replayed: { label: 'replayed', tone: 'info', means: 'put back on its queue by an operator' },
  discarded: { label: 'discarded', tone: 'quiet', means: 'a parked event an operator chose to drop' },
  'circuit-open': {
    label: 'circuit open',
    tone: 'warn',
    means: "a vendor account's circuit breaker opened: its requests are held, not sent",
  },
  'circuit-closed': {
    label: 'circuit closed',
    tone: 'ok',
    means: "a vendor account's circuit breaker closed: its held events go out again",
  },
};

export const outcomeOf = (outcome) => OUTCOMES[outcome] ?? { label: outcome, tone: 'quiet', means: '' };

/** The outcomes in the order the charts stack them and the filters list them. */
export const OUTCOME_ORDER = Object.keys(OUTCOMES);

export function Outcome({ outcome }) {
  const o = outcomeOf(outcome);
  return html`<span class=${`badge tone-${o.tone}`} title=${o.means}>${o.label}</span>`;
}

const UNITS = [
  ['d', 86_400],
  ['h', 3_600],
  ['min', 60],
  ['s', 1],
];

/** `3 h 12 min`: the two largest units of a number of seconds. */
export function duration(seconds) {
  let left = Math.max(0, Math.round(seconds));
  if (left === 0) return '0 s';
  const parts = [];
  for (const [unit, size] of UNITS) {
    if (left >= size && parts.length < 2) {
      parts.push(`${Math.floor(left / size)} ${unit}`);
      left %= size;
    }
  }
  return parts.join(' ');
}

/** `5 min ago`, `in 30 s`, `just now`. */
export function relative(iso, now = Date.now()) {
  const seconds = (now - new Date(iso).getTime()) / 1000;
  if (Math.abs(seconds) < 5) return 'just now';
  return seconds > 0 ? `${duration(seconds)} ago` : `in ${duration(-seconds)}`;
}

/** The local date and time, without the date when it is today. */
export function localTime(iso) {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** A time as people read it: local, with its age; the exact ISO time on hover. */
export function Time({ iso }) {
  if (!iso) return html`<span class="muted">never</span>`;
  return html`<time datetime=${iso} title=${iso}>${localTime(iso)} <span class="muted">(${relative(iso)})</span></time>`;
}

/**
 * Load data for a page: `{ data, error, loading, reload }`. With `everyMs`, reload in the
 * background on that interval (the sandbox page watches a flow happen).
 */
export function useLoad(load, deps, everyMs) {
  const [state, setState] = useState({ loading: true });
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const ticket = ++latest.current;
    try {
      const data = await load();
      if (ticket === latest.current) setState({ data, loading: false });
    } catch (error) {
      if (ticket === latest.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    setState({ loading: true });
    reload();
  }, [reload]);
  // Apart from the first load, so turning the refresh off and on keeps what is shown.
  useEffect(() => {
    if (!everyMs) return undefined;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [reload, everyMs]);
  return { ...state, reload };
}

export function Loading({ what }) {
  return html`<p class="muted" role="status">Loading ${what}…</p>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert"><strong>Could not load this:</strong> ${error.message}</div>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

/**
 * A modal dialog (the platform's <dialog>): focus moves into it on open, Escape cancels (the
 * browser's `cancel` event), the page behind is inert.
 */
export function Dialog({ title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return undefined;
    dialog.showModal();
    const cancel = (event) => {
      event.preventDefault();
      onClose();
    };
    dialog.addEventListener('cancel', cancel);
    return () => {
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
    };
  }, []);
  useEffect(() => {
    // Content that arrives later (the dry run's answer) brings its own default button: focus it,
    // unless the person already moved focus to something in the dialog.
    const dialog = ref.current;
    if (dialog && (document.activeElement === dialog || !dialog.contains(document.activeElement))) {
      dialog.querySelector('[autofocus]')?.focus();
    }
  });
  return html`<dialog ref=${ref} aria-labelledby="dialog-title">
    <h2 id="dialog-title" class="dialog-title">${title}</h2>
    ${children}
  </dialog>`;
}

/**
 * A state-changing action: ask the server for the dry run, show its message, act only on
 * "confirm"; a job's progress is followed to its end. `action` is `{ title, verb, path, body }`.
 */
export function ConfirmAction({ action, onClose, onDone }) {
  const [step, setStep] = useState({ name: 'preview' });
  // While the action runs, Escape does not hide its progress (the job would go on unseen).
  const busy = useRef(false);
  busy.current = step.name === 'working' || step.name === 'job';
  useEffect(() => {
    post(action.path, { ...action.body, dryRun: true })
      .then((preview) => setStep({ name: 'confirm', preview }))
      .catch((error) => setStep({ name: 'error', error }));
  }, []);
  const confirm = async () => {
    setStep({ name: 'working' });
    try {
      const answer = await post(action.path, { ...action.body, dryRun: false });
      if (answer.job) {
        const job = await followJob(answer.job, (current) => setStep({ name: 'job', job: current }));
        setStep({
          name: job.state === 'failed' ? 'error' : 'done',
          job,
          error: job.error && new Error(job.error),
        });
      } else {
        setStep({ name: 'done', answer });
      }
      onDone?.();
    } catch (error) {
      setStep({ name: 'error', error });
    }
  };
  const close = () => {
    if (!busy.current) onClose();
  };
  return html`<${Dialog} title=${action.title} onClose=${close}>
    ${step.name === 'preview' && html`<p role="status">Checking what this would do…</p>`}
    ${
      step.name === 'confirm' &&
      html`<p class="dry-run" data-testid="dry-run">${step.preview.message}</p>
      ${step.preview.lines?.length ? html`<ul class="lines">${step.preview.lines.map((l) => html`<li>${l}</li>`)}</ul>` : null}
      <div class="actions">
        <button type="button" onClick=${close} autofocus>Cancel</button>
        <button type="button" class="primary" onClick=${confirm}>${action.verb}</button>
      </div>`
    }
    ${step.name === 'working' && html`<p role="status">Working…</p>`}
    ${step.name === 'job' && html`<${JobProgress} job=${step.job} />`}
    ${
      step.name === 'done' &&
      html`${step.job ? html`<${JobProgress} job=${step.job} />` : null}
      <p class="done-note" role="status">${doneMessage(step)}</p>
      <div class="actions"><button type="button" class="primary" onClick=${close} autofocus>Close</button></div>`
    }
    ${
      step.name === 'error' &&
      html`${step.job ? html`<${JobProgress} job=${step.job} />` : null}
      <div class="error" role="alert">${step.error?.message ?? 'It failed.'}</div>
      <div class="actions"><button type="button" onClick=${close} autofocus>Close</button></div>`
    }
  <//>`;
}

export function doneMessage(step) {
  if (step.answer?.message) return step.answer.message;
  const result = step.job?.result;
  if (result?.message) return result.message;
  if (result && typeof result.replayed === 'number') {
    // Replayed but their DLQ copy not deleted: they show under Failures again (a replay of them is a duplicate).
    const kept = result.notDeleted?.length
      ? ` Replayed but still on the dead-letter queue (a later replay of them is a harmless duplicate): ${result.notDeleted.join(', ')}.`
      : '';
    return `Done: ${result.replayed} of ${result.selected} event(s) replayed${result.notFound?.length ? `; not found: ${result.notFound.join(', ')}` : ''}.${kept}`;
  }
  if (result && typeof result.enqueued === 'number') {
    const waits = result.paused ? ' The flow is paused: they wait on its queue until it is resumed.' : '';
    return `Done: the window ${result.from} to ${result.to} gave ${result.events} event(s); ${result.enqueued} went on the flow's queue${result.skipped ? `, ${result.skipped} record(s) could not be read` : ''}.${waits}`;
  }
  return 'Done.';
}

export function JobProgress({ job }) {
  const total = Math.max(job.total ?? 0, 0);
  return html`<div class="job" data-testid="job" data-state=${job.state}>
    <progress value=${job.done ?? 0} max=${total || 1} aria-label="progress"></progress>
    <span>${job.done ?? 0} / ${total} ${job.state === 'running' ? 'sent…' : job.state}</span>
  </div>`;
}
