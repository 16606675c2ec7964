/**
 * The console's shell: the token from the address, the navigation, and hash routing
 * (`#/flows`, `#/runs?...`, `#/events/<id>`, `#/failures`, `#/sandbox`) to one page each.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, hasToken, takeTokenFromAddress } from './api.js';
import { EventPage } from './pages/event.js';
import { FailuresPage } from './pages/failures.js';
import { FlowsPage } from './pages/flows.js';
import { RunsPage } from './pages/runs.js';
import { SandboxPage } from './pages/sandbox.js';
import { html } from './ui.js';

takeTokenFromAddress();
// A new link pasted into this tab (a restarted console) changes only the hash: start afresh with it.
addEventListener('hashchange', () => {
  if (takeTokenFromAddress()) location.reload();
});

/** The route in the hash: its page, the rest of its path, and its query. */
export function parseRoute(hash) {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page = 'flows', ...rest] = path.split('/');
  return { page: page || 'flows', rest: rest.map(decodeURIComponent), params: new URLSearchParams(query) };
}

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return parseRoute(hash);
}

const NAV = [
  ['flows', 'Flows'],
  ['runs', 'Runs'],
  ['failures', 'Failures'],
  ['sandbox', 'Sandbox'],
];

function App() {
  const route = useRoute();
  const [target, setTarget] = useState(null);
  useEffect(() => {
    if (!hasToken()) return;
    get('/api/overview')
      .then((o) => setTarget(o.target))
      .catch(() => setTarget(null));
  }, []);
  useEffect(() => {
    // Each page names itself in the title; focus goes to the page's heading for keyboard users.
    document.getElementById('page')?.focus({ preventScroll: true });
  }, [route.page]);
  if (!hasToken()) {
    return html`<main class="page"><h1>No console token</h1>
      <p>Open the console with the link <code>millwright console</code> (or <code>npm start</code>) printed:
      it ends in <code>#token=…</code>, which lets this page talk to the console server.</p></main>`;
  }
  const onStack = target?.kind === 'stack';
  return html`<header class="top">
      <a class="brand" href="#/flows">Millwright</a>
      <nav aria-label="Pages">
        ${NAV.filter(([id]) => !(onStack && id === 'sandbox')).map(
          ([id, label]) =>
            html`<a href=${`#/${id}`} aria-current=${route.page === id || (id === 'runs' && route.page === 'events') ? 'page' : undefined}>${label}</a>`,
        )}
      </nav>
      ${target && html`<span class="target" title="What this console operates">${target.kind === 'sandbox' ? 'Sandbox' : 'Stack'}: ${target.label}</span>`}
    </header>
    <main class="page" id="page" tabindex="-1">${page(route)}</main>`;
}

function page(route) {
  switch (route.page) {
    case 'flows':
      return html`<${FlowsPage} />`;
    case 'runs':
      return html`<${RunsPage} params=${route.params} />`;
    case 'events':
      return html`<${EventPage} eventId=${route.rest.join('/')} />`;
    case 'failures':
      return html`<${FailuresPage} />`;
    case 'sandbox':
      return html`<${SandboxPage} />`;
    default:
      return html`<h1>Not a page</h1><p>There is no page <code>${route.page}</code>. <a href="#/flows">Go to Flows</a>.</p>`;
  }
}

render(html`<${App} />`, document.getElementById('app'));
