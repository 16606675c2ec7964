/**
 * A function URL passes every path to the ingress: the webhook route is resolved from method and
 * path the way the HTTP API would have matched it (functions/runtime/routes.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { MM_WEBHOOK_ROUTE } from '../../../functions/connectors/machinemetrics/webhook.ts';
import { MW_WEBHOOK_ROUTE } from '../../../functions/connectors/mobility-work/webhook.ts';
import { UPKEEP_WEBHOOK_ROUTE } from '../../../functions/connectors/upkeep/webhook.ts';
import { matchRoute, routeMatcher } from '../../../functions/runtime/routes.ts';

const ROUTES = [MM_WEBHOOK_ROUTE, MW_WEBHOOK_ROUTE, UPKEEP_WEBHOOK_ROUTE];
const TOKEN = 'wh-0f8e2d4c6b8a0e2d4c6b8a0e2d4c6b8a0e2d';
const match = routeMatcher(ROUTES);

describe('matchRoute', () => {
  it.each([
    ['POST', '/webhooks/mobility-work', MW_WEBHOOK_ROUTE, {}],
    ['POST', '/webhooks/machinemetrics', MM_WEBHOOK_ROUTE, {}],
    ['POST', `/webhooks/upkeep/${TOKEN}`, UPKEEP_WEBHOOK_ROUTE, { token: TOKEN }],
    // One trailing slash is ignored, as by the HTTP API and the sandbox's router.
    ['POST', '/webhooks/mobility-work/', MW_WEBHOOK_ROUTE, {}],
    ['POST', `/webhooks/upkeep/${TOKEN}/`, UPKEEP_WEBHOOK_ROUTE, { token: TOKEN }],
    // Segments are percent-decoded, a param after splitting (an encoded slash stays inside it).
    ['POST', '/webhooks/upkeep/a%20b%2Fc%3D', UPKEEP_WEBHOOK_ROUTE, { token: 'a b/c=' }],
    ['POST', '/webhooks/upkeep/caf%C3%A9', UPKEEP_WEBHOOK_ROUTE, { token: 'café' }],
    ['POST', '/webhooks/mobility%2Dwork', MW_WEBHOOK_ROUTE, {}],
    // Methods compare in upper case (Lambda sends them so; a lower-case one is the same method).
    ['post', '/webhooks/mobility-work', MW_WEBHOOK_ROUTE, {}],
  ])('%s %s -> %s %j', (method, path, routeKey, pathParameters) => {
    expect(matchRoute(ROUTES, method, path)).toEqual({ routeKey, pathParameters });
  });

  it.each([
    ['/', 'the root'],
    ['', 'an empty path'],
    ['/webhooks', 'a prefix of a route'],
    ['/webhooks/upkeep', 'a route without its param'],
    ['/webhooks/upkeep/', 'an empty param'],
    [`/webhooks/upkeep/${TOKEN}/extra`, 'an extra segment'],
    [`/webhooks/upkeep//${TOKEN}`, 'an empty segment'],
    ['/webhooks/mobility-work//', 'two trailing slashes'],
    ['//webhooks/mobility-work', 'a leading empty segment'],
    ['/Webhooks/mobility-work', 'another case'],
    ['/webhooks/mobility-work-2', 'a longer literal'],
    ['/webhooks/clickmaint', 'a vendor without webhooks'],
  ])('matches nothing for %j (%s)', (path) => {
    expect(matchRoute(ROUTES, 'POST', path)).toBeUndefined();
    expect(match('POST', path)).toEqual({ reason: 'not-found' });
  });

  it('tells a path that is a route under another method apart, with the methods allowed', () => {
    expect(matchRoute(ROUTES, 'GET', `/webhooks/upkeep/${TOKEN}`)).toBeUndefined();
    expect(match('GET', `/webhooks/upkeep/${TOKEN}`)).toEqual({
      reason: 'method-not-allowed',
      allow: ['POST'],
    });
    expect(match('PUT', '/webhooks/mobility-work')).toEqual({
      reason: 'method-not-allowed',
      allow: ['POST'],
    });
    expect(match('GET', '/webhooks/nothing')).toEqual({ reason: 'not-found' });
  });

  it('reports a malformed percent-encoding in a param as malformed, in a literal as no route', () => {
    expect(match('POST', '/webhooks/upkeep/%E0%A4%A')).toEqual({ reason: 'malformed' });
    expect(match('POST', '/webhooks/upkeep/100%')).toEqual({ reason: 'malformed' });
    expect(matchRoute(ROUTES, 'POST', '/webhooks/upkeep/100%')).toBeUndefined();
    expect(match('POST', '/webhooks/mobility%2-work')).toEqual({ reason: 'not-found' });
  });

  it('takes the first matching route in order, and several params by name', () => {
    const routes = ['POST /a/{x}/c', 'POST /a/b/{y}', 'POST /a/{x}/{y}'];
    expect(matchRoute(routes, 'POST', '/a/b/c')).toEqual({
      routeKey: 'POST /a/{x}/c',
      pathParameters: { x: 'b' },
    });
    expect(matchRoute(routes, 'POST', '/a/z/q')).toEqual({
      routeKey: 'POST /a/{x}/{y}',
      pathParameters: { x: 'z', y: 'q' },
    });
  });

  it('refuses a template that is no route key when compiled (at cold start)', () => {
    expect(() => routeMatcher(['/webhooks/x'])).toThrow(/is not "<METHOD> \/<path>"/);
  });
});
