/**
 * The console server against a real in-process sandbox (local SQS, dynalite, simulators) through
 * the operator layer: the token and Host checks, 127.0.0.1 only, the static files and their
 * headers, and each read route's shape on real activity (a machine going down and up).
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ConsoleServer } from '../../../console/server.ts';
import type { Target } from '../../../operator/target.ts';
import { MACHINES, sandboxControl } from '../../../sandbox/control.ts';
import type { Sandbox } from '../../../sandbox/runtime.ts';
import { raw, startTestConsole, type TestConsole } from '../../support/console.ts';

let sandbox: Sandbox;
let target: Target;
let server: ConsoleServer;
let api: TestConsole['api'];
let running: TestConsole;

beforeAll(async () => {
  running = await startTestConsole({ by: 'ana' });
  ({ sandbox, target, server, api } = running);
  const c = sandboxControl(sandbox);
  await c.machine(MACHINES.one, 'down');
  await c.advance(20);
  await c.machine(MACHINES.one, 'up');
  await c.advance(10);
});
afterAll(() => running?.close());

/** Does a TCP connection to host:port open? */
const opens = (host: string, port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

describe('security', () => {
  it('gives a 127.0.0.1 URL with a 32-byte token in the fragment, and listens on loopback only', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
    expect(Buffer.from(server.token, 'base64url')).toHaveLength(32);
    expect(await opens('127.0.0.1', server.port)).toBe(true);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a?.address as string);
    for (const address of others) expect(await opens(address, server.port)).toBe(false);
  });

  it('refuses every API request without the right token, reads and changes alike', async () => {
    const headerSets: Record<string, string>[] = [
      {},
      { 'x-millwright-token': 'wrong' },
      { 'x-millwright-token': `${server.token}x` },
    ];
    for (const headers of headerSets) {
      const get = await raw(server, '/api/overview', { headers });
      expect(get.status).toBe(403);
      expect(get.json).toEqual({ error: 'missing or wrong console token' });
    }
    const flowId = [...target.flows.keys()][0] ?? '';
    const post = await raw(server, `/api/flows/${flowId}/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(403);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect((await target.state.getFlowControl(flowId))?.paused ?? false).toBe(false);
    expect((await api.get('/api/overview')).status).toBe(200);
  });

  it('answers only requests that name it in their Host header (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1:1']) {
      const answer = await raw(server, '/api/overview', {
        host,
        headers: { 'x-millwright-token': server.token },
      });
      expect(answer.status).toBe(421);
      expect((await raw(server, '/', { host })).status).toBe(421);
    }
    expect((await raw(server, '/', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('takes POST bodies as JSON only, at most 64 KB', async () => {
    const flowId = [...target.flows.keys()][0] ?? '';
    const headers = { 'x-millwright-token': server.token };
    const form = await raw(server, `/api/flows/${flowId}/pause`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'dryRun=true',
    });
    expect(form.status).toBe(415);
    const big = await raw(server, `/api/flows/${flowId}/pause`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: true, pad: 'x'.repeat(70_000) }),
    });
    expect(big.status).toBe(413);
    const broken = await raw(server, `/api/flows/${flowId}/pause`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"dryRun":',
    });
    expect(broken.status).toBe(400);
  });
});

describe('static files', () => {
  it('serves the page with its security headers and the import map allowed by hash', async () => {
    const page = await raw(server, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('<script type="importmap">');
    expect(page.headers['content-security-policy']).toMatch(
      /default-src 'self'; script-src 'self' 'sha256-[^']+';.*frame-ancestors 'none'/,
    );
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('serves the three vendor modules from node_modules', async () => {
    for (const file of ['preact.module.js', 'hooks.module.js', 'htm.module.js']) {
      const answer = await raw(server, `/vendor/${file}`);
      expect([file, answer.status]).toEqual([file, 200]);
      expect(answer.headers['content-type']).toMatch(/text\/javascript/);
    }
  });

  it('serves nothing outside console/web', async () => {
    for (const path of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/..%2fpackage.json',
      '/vendor/../../package.json',
      '/vendor/preact.js',
      '/nope.js',
      '/%00',
    ]) {
      const answer = await raw(server, path);
      expect([path, answer.status]).toEqual([path, 404]);
    }
    expect((await raw(server, '/', { method: 'POST' })).status).toBe(405);
  });
});

describe('reads', () => {
  it('overview: a card per enabled flow with its ends, queues, polls and 24 hours of runs', async () => {
    const { status, json } = await api.get('/api/overview');
    expect(status).toBe(200);
    expect(json.target).toEqual({ kind: 'sandbox', label: 'sandbox (in process)' });
    expect(json.now).toBe(sandbox.clock.now().toISOString());
    expect(json.flows.map((f: { flowId: string }) => f.flowId)).toEqual([...target.flows.keys()]);
    const upkeep = json.flows.find(
      (f: { flowId: string }) => f.flowId === 'machinemetrics-downtime-to-upkeep-work-order',
    );
    expect(upkeep.source).toContainEqual(expect.objectContaining({ vendor: 'machinemetrics', kind: 'poll' }));
    expect(upkeep.targets).toEqual(['upkeep']);
    expect(upkeep).toMatchObject({
      paused: false,
      queue: { visible: 0, inFlight: 0, delayed: 0 },
      deadLetters: { depth: 0 },
      parked: 0,
      vendors: ['machinemetrics', 'upkeep'],
    });
    expect(upkeep.polls.length).toBeGreaterThan(0);
    expect(upkeep.backfill).toContainEqual(
      expect.objectContaining({ sourceId: 'machinemetrics.downtime', supported: true }),
    );
    const webhookOnly = json.flows.find(
      (f: { flowId: string }) => f.flowId === 'upkeep-work-order-to-deepomatic-validation',
    );
    expect(webhookOnly.backfill).toEqual([
      { supported: false, note: expect.stringMatching(/^Webhook flow/) },
    ]);
    expect(upkeep.last24h.hours).toHaveLength(24);
    expect(upkeep.last24h.counts.done.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThan(0);
    expect(Array.isArray(json.breakers)).toBe(true);
    expect(Array.isArray(json.rateLimits)).toBe(true);
  });

  it("runs: a machine's whole story by subject, newest first", async () => {
    const { status, json } = await api.get(`/api/runs?subject=${MACHINES.one}`);
    expect(status).toBe(200);
    expect(json.entries.length).toBeGreaterThan(0);
    expect(json.more).toBe(false);
    const ats = json.entries.map((e: { at: string }) => e.at);
    expect([...ats].sort().reverse()).toEqual(ats);
    expect(new Set(json.entries.map((e: { flowId: string }) => e.flowId)).size).toBeGreaterThan(1);
    const failed = await api.get('/api/runs?outcome=failed,dead-lettered');
    expect(failed.json.entries).toEqual([]);
  });

  it('runs: pages of one entry, followed by their cursors, give the whole list once, ties included', async () => {
    const whole = (await api.get('/api/runs?limit=200')).json.entries as { at: string }[];
    expect(whole.length).toBeGreaterThan(3);
    // Entries of one poll or one batch share a timestamp: this list has ties to cross.
    expect(new Set(whole.map((e) => e.at)).size).toBeLessThan(whole.length);
    const paged: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 500; page++) {
      const answer = await api.get(
        `/api/runs?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(answer.status).toBe(200);
      paged.push(...answer.json.entries);
      if (!answer.json.more) break;
      cursor = answer.json.nextCursor;
      expect(cursor).toBeDefined();
    }
    expect(paged).toEqual(whole);
  });

  it("events: an event's attempts, effects and decisions in words; 404 for an unknown one", async () => {
    const runs = (await api.get(`/api/runs?subject=${MACHINES.one}&outcome=done`)).json.entries;
    const done = runs.find((e: { effects?: object }) => e.effects && Object.keys(e.effects).length > 0);
    const story = await api.get(`/api/events/${encodeURIComponent(done.eventId)}`);
    expect(story.status).toBe(200);
    expect(story.json).toMatchObject({ eventId: done.eventId });
    expect(story.json.attempts.length).toBeGreaterThan(0);
    expect(Object.keys(story.json.effects).length).toBeGreaterThan(0);
    expect(Array.isArray(story.json.explanations)).toBe(true);
    const echoes = (await api.get('/api/runs?outcome=echo,duplicate,stale,skipped&limit=5')).json.entries;
    if (echoes.length > 0) {
      const decided = await api.get(`/api/events/${encodeURIComponent(echoes[0].eventId)}`);
      expect(decided.json.explanations.length).toBeGreaterThan(0);
    }
    const unknown = await api.get('/api/events/no-such-event');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/no-such-event/);
  });

  it('failures: every flow with its dead letters and parked events (none yet)', async () => {
    const { status, json } = await api.get('/api/failures');
    expect(status).toBe(200);
    expect(json.flows.map((f: { flowId: string }) => f.flowId)).toEqual([...target.flows.keys()]);
    for (const flow of json.flows) expect(flow).toMatchObject({ paused: false, deadLetters: [], parked: [] });
  });

  it('unknown flows, routes and bad parameters are 404 and 400 with a message', async () => {
    expect((await api.get('/api/runs?flow=no-such-flow')).status).toBe(404);
    expect((await api.get('/api/runs?since=yesterday')).json.error).toMatch(/since/);
    expect((await api.get('/api/nope')).status).toBe(404);
    expect((await api.get('/api/jobs/nope')).status).toBe(404);
  });
});
