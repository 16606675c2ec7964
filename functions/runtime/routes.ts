/**
 * Webhook routes resolved from a request's method and path, for a Lambda function URL: it passes
 * every request to the ingress function as `routeKey: "$default"`, where the HTTP API would have
 * matched one of its routes (`POST /webhooks/upkeep/{token}`) and filled `pathParameters`. This
 * matches the way the HTTP API does (and the sandbox's router, sandbox/router.ts), so the rest of
 * the ingress (handleWebhook, the receivers' verification) sees the same request either way:
 * - a literal segment matches itself (after percent-decoding both sides);
 * - `{name}` matches exactly one non-empty segment, percent-decoded into `pathParameters.name`
 *   (`%2F` becomes a `/` inside the value: segments are split before decoding);
 * - one trailing slash on the request is ignored, an empty segment (`//`) never matches;
 * - a malformed percent-encoding (`%`, `%E0%A4%A`) names nothing: `malformed` (the caller answers 400).
 * Plain data in, plain data out: no path is ever logged from here (an UpKeep path carries its token).
 */

export interface RouteMatch {
  /** The route template that matched, exactly as the receiver declares it. */
  routeKey: string;
  pathParameters: Record<string, string>;
}

/** Why no route matched: the path is some route's under another method, or malformed encoding. */
export type RouteMiss =
  | { reason: 'not-found' }
  | { reason: 'method-not-allowed'; allow: string[] }
  | { reason: 'malformed' };

interface Template {
  routeKey: string;
  method: string;
  /** Literal segments (decoded) or `{ param }`. */
  segments: (string | { param: string })[];
}

const PARAM = /^\{(\w+)\}$/;

/**
 * `POST /webhooks/upkeep/{token}` -> its method and path; a string that is no route key throws.
 * The one reading of a route key: the stack's HTTP API routes (lib/constructs/ingress.ts) use it too.
 */
export function splitRouteKey(routeKey: string): { method: string; path: string } {
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey.trim());
  if (!match?.[1] || !match[2]) {
    throw new Error(`webhook route ${JSON.stringify(routeKey)} is not "<METHOD> /<path>"`);
  }
  return { method: match[1], path: match[2] };
}

/** A route key -> its method and segments, for matching. */
function compile(routeKey: string): Template {
  const { method, path } = splitRouteKey(routeKey);
  const segments = split(path).map((s) => {
    const param = PARAM.exec(s)?.[1];
    return param ? { param } : (safeDecode(s) ?? s);
  });
  return { routeKey, method, segments };
}

/** `/a/b/` -> `['a', 'b']`: one trailing slash ignored, inner empty segments kept (they match nothing). */
const split = (path: string): string[] => {
  const body = path.endsWith('/') && path.length > 1 ? path.slice(0, -1) : path;
  return body.split('/').slice(1);
};

/** `decodeURIComponent`, or undefined for a malformed encoding (it throws URIError). */
function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

type PathMatch = { params: Record<string, string> } | 'malformed' | undefined;

function matchPath(template: Template, segments: readonly string[]): PathMatch {
  if (segments.length !== template.segments.length) return undefined;
  const params: Record<string, string> = {};
  let malformed = false;
  for (const [i, expected] of template.segments.entries()) {
    const raw = segments[i] ?? '';
    if (raw === '') return undefined;
    const value = safeDecode(raw);
    if (typeof expected === 'string') {
      if (value !== expected) return undefined;
    } else if (value === undefined) {
      malformed = true;
    } else {
      params[expected.param] = value;
    }
  }
  return malformed ? 'malformed' : { params };
}

/**
 * Compiles the routes once (a bad template throws here, at cold start); the lookup tries them in
 * order and returns the match, or why there is none.
 */
export function routeMatcher(
  routeKeys: readonly string[],
): (method: string, path: string) => RouteMatch | RouteMiss {
  const templates = routeKeys.map(compile);
  return (method, path) => {
    const segments = split(path);
    const allow = new Set<string>();
    let malformed = false;
    for (const template of templates) {
      const found = matchPath(template, segments);
      if (found === undefined) continue;
      if (template.method !== method.toUpperCase()) {
        allow.add(template.method);
        continue;
      }
      if (found === 'malformed') {
        malformed = true;
        continue;
      }
      return { routeKey: template.routeKey, pathParameters: found.params };
    }
    if (malformed) return { reason: 'malformed' };
    if (allow.size > 0) return { reason: 'method-not-allowed', allow: [...allow].sort() };
    return { reason: 'not-found' };
  };
}

/** The route a request names, or undefined (see routeMatcher for why not). */
export function matchRoute(
  routeKeys: readonly string[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const found = routeMatcher(routeKeys)(method, path);
  return 'routeKey' in found ? found : undefined;
}
