/** The sandbox's one router: simulator (`:param`) and API Gateway (`{param}`) routes alike. */
import { describe, expect, it } from '@jest/globals';
import { createRouter } from '../../../sandbox/router.ts';

const routes = [
  { method: 'GET', pattern: '/work-orders', name: 'list' },
  { method: 'GET', pattern: '/work-orders/:id', name: 'get' },
  { method: 'POST', pattern: '/work-orders/:id/update-messages', name: 'message' },
  { method: 'POST', pattern: '/v0.2/work-orders/', name: 'dotted' },
  { method: 'POST', pattern: '/webhooks/upkeep/{token}', name: 'ingress' },
  { method: 'POST', pattern: '/plans/:planId/{step}', name: 'mixed' },
];
const lookup = createRouter(routes);
const nameOf = (method: string, path: string) => lookup(method, path)?.route.name;

describe('sandbox router', () => {
  it('matches literal routes by method and path, and nothing else', () => {
    expect(nameOf('GET', '/work-orders')).toBe('list');
    expect(nameOf('POST', '/work-orders')).toBeUndefined();
    expect(nameOf('GET', '/work-orders-archive')).toBeUndefined();
    expect(nameOf('GET', '/api/work-orders')).toBeUndefined();
    expect(lookup('DELETE', '/nowhere')).toBeUndefined();
  });

  it('captures :param and {param} segments, one segment each', () => {
    expect(lookup('GET', '/work-orders/wo-1')).toEqual({ route: routes[1], params: { id: 'wo-1' } });
    expect(lookup('POST', '/work-orders/wo-1/update-messages')?.route.name).toBe('message');
    expect(lookup('POST', '/webhooks/upkeep/abc123')).toEqual({
      route: routes[4],
      params: { token: 'abc123' },
    });
    expect(lookup('POST', '/plans/p-7/close')).toEqual({
      route: routes[5],
      params: { planId: 'p-7', step: 'close' },
    });
    expect(nameOf('POST', '/webhooks/upkeep/')).toBeUndefined();
    expect(nameOf('POST', '/webhooks/upkeep/a/b')).toBeUndefined();
  });

  it('decodes params', () => {
    expect(lookup('GET', '/work-orders/a%20b%2Fc%C3%A9')).toMatchObject({ params: { id: 'a b/cé' } });
  });

  it('reports a malformed percent-encoding by param name instead of throwing', () => {
    for (const segment of ['%', '%E0%A4%A', '..%c0%af']) {
      expect(lookup('POST', `/webhooks/upkeep/${segment}`)).toEqual({ route: routes[4], malformed: 'token' });
    }
  });

  it('accepts one trailing slash on the path and ignores trailing slashes in the pattern', () => {
    expect(nameOf('GET', '/work-orders/')).toBe('list');
    expect(nameOf('GET', '/work-orders/wo-1/')).toBe('get');
    expect(nameOf('POST', '/webhooks/upkeep/abc/')).toBe('ingress');
    expect(nameOf('GET', '/work-orders//')).toBeUndefined();
    expect(nameOf('POST', '/v0.2/work-orders')).toBe('dotted');
    expect(nameOf('POST', '/v0.2/work-orders/')).toBe('dotted');
  });

  it('treats regex characters in a pattern literally', () => {
    expect(nameOf('POST', '/v0x2/work-orders')).toBeUndefined();
  });

  it('tries routes in order: the first match wins', () => {
    const first = createRouter([
      { method: 'GET', pattern: '/parts/:id', name: 'param' },
      { method: 'GET', pattern: '/parts/special', name: 'literal' },
    ]);
    expect(first('GET', '/parts/special')?.route.name).toBe('param');
  });
});
