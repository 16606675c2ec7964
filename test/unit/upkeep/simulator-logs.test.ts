/**
 * The UpKeep simulator left running for weeks: its per-request, per-delivery and per-login logs keep
 * the newest `requestLogLimit` entries, and expired sessions are forgotten, while every session still
 * within its lifetime keeps working.
 */
import { afterEach, expect, it } from '@jest/globals';
import {
  startUpKeepSimulator,
  type UpKeepSimulator,
} from '../../../functions/connectors/upkeep/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { EMAIL, PASSWORD } from './support.ts';

const HOUR = 3_600_000;
let sim: UpKeepSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function login(s: UpKeepSimulator): Promise<string> {
  const res = await fetch(`${s.baseUrl}/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { sessionToken: string } }).result.sessionToken;
}

const get = async (s: UpKeepSimulator, path: string, token: string) =>
  (await fetch(`${s.baseUrl}${path}`, { headers: { 'session-token': token } })).status;

it('keeps the newest calls, issued tokens and webhook deliveries only; live sessions stay valid', async () => {
  const clock = manualClock();
  const deliveries: string[] = [];
  sim = await startUpKeepSimulator({
    clock,
    email: EMAIL,
    password: PASSWORD,
    tokenTtlMs: 2 * HOUR,
    requestLogLimit: 3,
    webhook: { url: 'http://127.0.0.1:9/h' },
    fetch: async (_url, init) => {
      deliveries.push(String(init?.body));
      return new Response('', { status: 200 });
    },
  });
  const first = await login(sim);
  const tokens = [first];
  for (let i = 0; i < 5; i++) tokens.push(await login(sim));
  expect(sim.issuedTokens()).toEqual(tokens.slice(-3));
  // Every session within its lifetime still works, however many logins came after it.
  for (const token of tokens) expect(await get(sim, '/work-orders', token)).toBe(200);
  expect(sim.calls()).toHaveLength(3);
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${sim.baseUrl}/work-orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'session-token': first },
      body: JSON.stringify({ title: `WO ${i}` }),
    });
    expect(res.status).toBe(200);
  }
  await sim.flushWebhooks();
  expect(deliveries.length).toBeGreaterThanOrEqual(5);
  expect(sim.webhookDeliveries()).toHaveLength(3);
});

it('forgets expired sessions at the next login (they answered 401 as unknown ones do)', async () => {
  const clock = manualClock();
  sim = await startUpKeepSimulator({ clock, email: EMAIL, password: PASSWORD, tokenTtlMs: 2 * HOUR });
  const old = await login(sim);
  await login(sim);
  clock.advance(2 * HOUR);
  expect(await get(sim, '/work-orders', old)).toBe(401);
  const fresh = await login(sim);
  expect(await get(sim, '/work-orders', old)).toBe(401);
  expect(await get(sim, '/work-orders', fresh)).toBe(200);
  // The control route answers how many sessions it held: only the live one is left.
  const expired = await fetch(`${sim.url}/_sandbox/tokens/expire`, { method: 'POST' });
  expect(await expired.json()).toEqual({ expired: 1 });
});
