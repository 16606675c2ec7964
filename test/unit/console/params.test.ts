/** The console API's input parsing and route matching (no server). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { explain, matchRoute } from '../../../console/api.ts';
import {
  ConsoleApiError,
  formatCursor,
  objectBody,
  optionalBoolean,
  parseCursor,
  parseRunsParams,
  rateOf,
  replayChoice,
} from '../../../console/params.ts';
import { contentSecurityPolicy, portAfter } from '../../../console/server.ts';
import { MAX_RATE_PER_SECOND } from '../../../operator/replay.ts';

const params = (q: string) => new URLSearchParams(q);

describe('parseRunsParams', () => {
  it('reads flow, outcomes, subject, times and limit', () => {
    const { query, cursor } = parseRunsParams(
      params(
        'flow=f&outcome=done,%20failed,&subject=M1&since=2026-12-07T06:00:00Z&until=2026-12-07T07:00:00Z&limit=20',
      ),
    );
    expect(query).toEqual({
      flowId: 'f',
      outcomes: ['done', 'failed'],
      subject: 'M1',
      since: new Date('2026-12-07T06:00:00Z'),
      until: new Date('2026-12-07T07:00:00Z'),
      limit: 20,
    });
    expect(cursor).toBeUndefined();
  });

  it('defaults to 50 entries and leaves out empty fields', () => {
    expect(parseRunsParams(params('flow=&subject=&outcome='))).toEqual({ query: { limit: 50 } });
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=201', /limit/],
    ['limit=abc', /limit/],
    ['since=yesterday', /since/],
    ['since=2026-12-07T07:00:00Z&until=2026-12-07T06:00:00Z', /before/],
    // No zone: read as the console host's local time it would move the window (a DST hour twice or never).
    ['since=2026-10-25T02:30:00', /since: .* has no zone/],
    ['until=2026-03-29T02:30', /until: .* has no zone/],
    ['cursor=nonsense', /cursor/],
  ])('refuses %s with a 400', (q, message) => {
    let error: unknown;
    try {
      parseRunsParams(params(q));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConsoleApiError);
    expect((error as ConsoleApiError).status).toBe(400);
    expect((error as Error).message).toMatch(message);
  });

  it('round-trips a cursor, and takes a bare time as nothing shown yet', () => {
    const cursor = { at: '2026-12-07T06:00:00.000Z', shown: 3 };
    expect(parseCursor(formatCursor(cursor))).toEqual(cursor);
    expect(parseCursor('2026-12-07T06:00:00Z')).toEqual({ at: '2026-12-07T06:00:00.000Z', shown: 0 });
  });
});

describe('bodies', () => {
  it('replays named ids or all, never both or neither', () => {
    expect(replayChoice({ ids: ['a', 'b'] })).toEqual({ ids: ['a', 'b'] });
    expect(replayChoice({ all: true })).toEqual({ all: true });
    expect(() => replayChoice({ all: true, ids: ['a'] })).toThrow(/not both/);
    expect(() => replayChoice({})).toThrow(/name the events/);
    expect(() => replayChoice({ ids: [1] })).toThrow(/ids/);
  });

  it('takes no field from a __proto__ or constructor key of a JSON body, and pollutes nothing', () => {
    // JSON.parse makes `__proto__` an own key: a body cannot set dryRun or all through it.
    const body = objectBody(
      JSON.parse(
        '{"__proto__":{"dryRun":false,"all":true,"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
      ),
    );
    expect(optionalBoolean(body, 'dryRun')).toBeUndefined();
    expect(() => replayChoice(body)).toThrow(/name the events/);
    expect(rateOf(body)).toBe(10);
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it("keeps the CLI's rate default and cap", () => {
    expect(rateOf({})).toBe(10);
    expect(rateOf({ ratePerSecond: 2.5 })).toBe(2.5);
    expect(rateOf({ ratePerSecond: MAX_RATE_PER_SECOND })).toBe(MAX_RATE_PER_SECOND);
    expect(() => rateOf({ ratePerSecond: MAX_RATE_PER_SECOND + 1 })).toThrow(/at most 1000/);
    expect(() => rateOf({ ratePerSecond: 0 })).toThrow(/above 0/);
    expect(() => rateOf({ ratePerSecond: '10' })).toThrow(/number/);
  });
});

describe('matchRoute', () => {
  it('finds a route and decodes its parameters', () => {
    const found = matchRoute('POST', '/api/flows/my%20flow/replay');
    expect('params' in found && found.params).toEqual(['my flow']);
    const sandbox = matchRoute('POST', '/api/sandbox/machines/m-1/down');
    expect('params' in sandbox && sandbox.params).toEqual(['m-1', 'down']);
  });

  it('tells an unknown path (404) from a wrong method (405)', () => {
    expect(matchRoute('GET', '/api/nope')).toEqual({ status: 404 });
    expect(matchRoute('GET', '/api/flows/f/replay')).toEqual({ status: 405 });
    expect(matchRoute('POST', '/api/overview')).toEqual({ status: 405 });
  });
});

describe('explain', () => {
  const attempt = (outcome: string) => ({
    flowId: 'f',
    eventId: 'e',
    eventType: 't',
    outcome,
    message: 'why',
    at: '2026-12-07T06:00:00.000Z',
  });
  it('puts echo, duplicate, stale and skipped decisions in words, with the flow message', () => {
    expect(explain(attempt('echo'))).toMatch(/our own write coming back.*not forwarded again.*why/);
    expect(explain(attempt('duplicate'))).toMatch(/already applied; nothing was done a second time/);
    expect(explain(attempt('stale'))).toMatch(/older than what its subject already reflects/);
    expect(explain(attempt('skipped'))).toMatch(/nothing to do/);
    expect(explain(attempt('done'))).toBeUndefined();
  });
});

describe('contentSecurityPolicy', () => {
  it('allows the inline import map by its hash and nothing else inline', () => {
    const map = '{"imports":{"preact":"/vendor/preact.module.js"}}';
    const hash = createHash('sha256').update(map).digest('base64');
    for (const tag of ['<script type="importmap">', "<script nonce='x' type='importmap'>"]) {
      const csp = contentSecurityPolicy(
        `<head>${tag}${map}</script><script type="module" src="/app.js"></script>`,
      );
      expect(csp).toContain(`script-src 'self' 'sha256-${hash}';`);
      expect(csp).not.toMatch(/unsafe-inline/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
    }
    expect(contentSecurityPolicy(undefined)).toMatch(/script-src 'self';/);
  });
});

describe('portAfter', () => {
  it("is the port after the sandbox's highest, or 0 (any) when none has one", () => {
    expect(portAfter(['http://127.0.0.1:8900', 'http://127.0.0.1:8905/api/v2', 'Millwright-state'])).toBe(
      8906,
    );
    expect(portAfter(['Millwright-state'])).toBe(0);
  });
});
