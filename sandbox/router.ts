/**
 * The one route table of the sandbox's HTTP servers: the vendor simulators (`/work-orders/:id`) and
 * the local ingress (API Gateway route keys, `/webhooks/upkeep/{token}`). A route matches its path
 * with or without one trailing slash; a pattern's own trailing slashes are ignored.
 */

export interface RouteSpec {
  method: string;
  /** Literal segments and params, as `:name` or `{name}`. */
  pattern: string;
}

/** The first route whose method and path match, with its params decoded. */
export interface RouteMatch<R> {
  route: R;
  params: Record<string, string>;
}

/**
 * The route matched but a param's percent-encoding is malformed (`%`, `%E0%A4%A`): it cannot name
 * anything, so the caller answers 400, as API Gateway does.
 */
export interface MalformedMatch<R> {
  route: R;
  malformed: string;
}

export type RouteLookup<R> = RouteMatch<R> | MalformedMatch<R> | undefined;

interface Compiled<R> {
  route: R;
  regex: RegExp;
  names: string[];
}

const PARAM = /:(\w+)|\{(\w+)\}/g;
const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile<R extends RouteSpec>(route: R): Compiled<R> {
  const pattern = route.pattern.replace(/\/+$/, '');
  const names: string[] = [];
  let source = '';
  let last = 0;
  for (const m of pattern.matchAll(PARAM)) {
    source += `${escapeRegex(pattern.slice(last, m.index))}([^/]+)`;
    names.push((m[1] ?? m[2]) as string);
    last = m.index + m[0].length;
  }
  source += escapeRegex(pattern.slice(last));
  return { route, regex: new RegExp(`^${source}/?$`), names };
}

/** `decodeURIComponent`, or undefined for a malformed encoding (it throws URIError). */
export function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function decodeParams<R>(entry: Compiled<R>, match: RegExpExecArray): RouteMatch<R> | MalformedMatch<R> {
  const params: Record<string, string> = {};
  for (const [i, name] of entry.names.entries()) {
    const value = safeDecode(match[i + 1] ?? '');
    if (value === undefined) return { route: entry.route, malformed: name };
    params[name] = value;
  }
  return { route: entry.route, params };
}

/** Compiles the routes once; the lookup tries them in order. */
export function createRouter<R extends RouteSpec>(
  routes: readonly R[],
): (method: string, path: string) => RouteLookup<R> {
  const table = routes.map(compile);
  return (method, path) => {
    for (const entry of table) {
      if (entry.route.method !== method) continue;
      const match = entry.regex.exec(path);
      if (match) return decodeParams(entry, match);
    }
    return undefined;
  };
}
