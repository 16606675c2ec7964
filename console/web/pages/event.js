/**
 * One event's whole story: what the decisions mean in words, each attempt with its outcome and
 * error, the vendor records it made or changed, and the event itself where it is still kept.
 */
import { get } from '../api.js';
import { Empty, ErrorBox, html, Loading, Outcome, outcomeOf, Time, useLoad } from '../ui.js';

export function EventPage({ eventId }) {
  const { data, error, loading } = useLoad(
    () => get(`/api/events/${encodeURIComponent(eventId)}`),
    [eventId],
  );
  if (loading && !data) return html`<h1>Event</h1><${Loading} what="the event" />`;
  if (error?.status === 404) {
    return html`<h1>Event <code>${eventId}</code></h1>
      <${Empty}>The run log has nothing about this event: it never ran, or its entries are older than the run log keeps.
        <a href="#/runs">Search the runs</a> by its subject instead.<//>`;
  }
  if (error) return html`<h1>Event</h1><${ErrorBox} error=${error} />`;
  const story = data;
  const effects = Object.entries(story.effects ?? {});
  const last = story.attempts[story.attempts.length - 1];
  // Each flow's own latest attempt: one flow's `done` must not hide another's failure.
  const latest = story.flows
    .map((flowId) => story.attempts.findLast((a) => a.flowId === flowId))
    .filter((a) => a !== undefined);
  return html`<h1>Event <code class="id">${story.eventId}</code></h1>
    <p class="lead">
      ${last?.eventType ?? ''}${last?.subject ? html` about <a href=${`#/runs?subject=${encodeURIComponent(last.subject)}`}>${last.subject}</a>` : ''}${' '}
      through ${story.flows.map((f, i) => html`${i > 0 ? ', ' : ''}<a href=${`#/runs?flow=${encodeURIComponent(f)}`}>${f}</a>`)}.
      ${latest.length === 1 ? html` Latest: <${Outcome} outcome=${last.outcome} /> <${Time} iso=${last.at} />.` : ''}
      ${latest.length > 1 ? html` Latest: ${latest.map((a, i) => html`${i > 0 ? '; ' : ''}<${Outcome} outcome=${a.outcome} /> in ${a.flowId} <${Time} iso=${a.at} />`)}.` : ''}
    </p>
    ${
      story.explanations?.length > 0 &&
      html`<section aria-labelledby="what">
      <h2 id="what">What was decided</h2>
      <ul class="explanations">${story.explanations.map((line) => html`<li>${line}</li>`)}</ul>
    </section>`
    }
    <section aria-labelledby="attempts">
      <h2 id="attempts">Attempts, oldest first</h2>
      <ol class="attempts">
        ${story.attempts.map(
          (a) => html`<li class=${`attempt attempt-${outcomeOf(a.outcome).tone}`}>
            <div class="attempt-head"><${Outcome} outcome=${a.outcome} /> <${Time} iso=${a.at} />${' '}
              <span class="muted">· ${a.flowId}${a.via ? ` · via ${a.via}` : ''}</span></div>
            <p class="message">${a.message}</p>
            ${outcomeOf(a.outcome).means ? html`<p class="muted small">${outcomeOf(a.outcome).label}: ${outcomeOf(a.outcome).means}</p>` : null}
          </li>`,
        )}
      </ol>
    </section>
    <section aria-labelledby="effects">
      <h2 id="effects">Records it made or changed</h2>
      ${
        effects.length === 0
          ? html`<p class="muted">None recorded: no vendor record was created or changed by this event.</p>`
          : html`<table class="effects"><thead><tr><th scope="col">Record</th><th scope="col">Id in the vendor</th></tr></thead>
            <tbody>${effects.map(([k, v]) => html`<tr><td>${words(k)}</td><td><a href=${`#/runs?subject=${encodeURIComponent(v)}`}><code>${v}</code></a></td></tr>`)}</tbody></table>`
      }
    </section>
    <section aria-labelledby="body">
      <h2 id="body">The event</h2>
      ${
        story.event === undefined
          ? html`<p class="muted">Its body is no longer kept (the run log keeps it on the event's own entries while they last).</p>`
          : html`<p class="muted small">From ${story.eventFrom}.</p><pre class="json">${JSON.stringify(story.event, null, 2)}</pre>`
      }
    </section>`;
}

/** `workOrderId` -> `work order id`. */
const words = (key) => key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
