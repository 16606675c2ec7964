/**
 * Talking to the console server. The session token arrives once in the address (`#token=...`), is
 * kept in sessionStorage (so a reload keeps working and the token leaves the address bar at once),
 * and goes as the `X-Millwright-Token` header on every /api request: a page of another origin
 * cannot send that header without a CORS preflight, which the server never approves.
 */
const TOKEN_KEY = 'millwright-console-token';

/** Take the token out of the address, if it is there; the hash then becomes a page route. */
export function takeTokenFromAddress() {
  const match = /^#token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!match) return false;
  sessionStorage.setItem(TOKEN_KEY, match[1]);
  history.replaceState(null, '', `${location.pathname}${location.search}#/flows`);
  return true;
}

export const hasToken = () => sessionStorage.getItem(TOKEN_KEY) !== null;

/** An answer of the server that is not a 2xx: its status and its `error` text. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

async function request(method, path, body) {
  const headers = { 'X-Millwright-Token': sessionStorage.getItem(TOKEN_KEY) ?? '' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    throw new ApiError(
      0,
      `The console server does not answer (${cause.message}). Is \`millwright console\` still running?`,
    );
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (res.status === 403) {
    // A tab left open across a restart of the console keeps the old session's token.
    throw new ApiError(
      403,
      `${data.error ?? 'refused'}: this page's session is not the running console's. Open the link \`millwright console\` (or \`npm start\`) printed last.`,
    );
  }
  if (!res.ok) throw new ApiError(res.status, data.error ?? `HTTP ${res.status}`);
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body = {}) => request('POST', path, body);

/** Poll a job until it is done or failed, calling `onProgress` with each state. */
export async function followJob(job, onProgress, intervalMs = 400) {
  let current = job;
  onProgress(current);
  while (current.state === 'running') {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    current = await get(`/api/jobs/${encodeURIComponent(current.id)}`);
    onProgress(current);
  }
  return current;
}
