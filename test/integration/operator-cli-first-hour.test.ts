/**
 * The operator's first hour, typed against the real sandbox. Their typical slips are each refused
 * with exit code 2 (README "Exit codes": bad usage), a reason in one line (no stack trace) and, for
 * a near-miss name, the one they meant; none may answer exit 0 with an empty result that reads as
 * "all quiet". And what the CLI tells them to type next runs as written.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as DM_FLOW } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { postJson, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { type CliRun, sandboxCli } from '../support/cli.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;

const { cli } = sandboxCli(() => sandbox);

/** Typed with one letter dropped ("ordr"). */
const TYPO = FLOW_ID.replace(/order$/, 'ordr');

/** Refused as bad usage: exit 2, nothing on stdout, a one-line reason, no stack trace. */
function expectUsage(run: CliRun, reason: string | RegExp): void {
  expect(run.code).toBe(2);
  expect(run.out).toBe('');
  expect(run.err).toMatch(reason);
  expect(run.err).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  sandbox = await startTestSandbox();
  await sandboxControl(sandbox).advance(0);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('a mistyped flow id', () => {
  it('status --flow refuses it (not an empty table) and suggests the close one', async () => {
    expectUsage(await cli('status', '--flow', TYPO), `(did you mean "${FLOW_ID}"?)`);
    expectUsage(await cli('--json', 'status', '--flow', TYPO), `no enabled flow "${TYPO}"`);
  });

  it('dlq, pause and runs suggest the close one too', async () => {
    expectUsage(
      await cli('dlq', 'list', TYPO),
      `no enabled flow "${TYPO}" here (did you mean "${FLOW_ID}"?)`,
    );
    expectUsage(await cli('pause', TYPO), `(did you mean "${FLOW_ID}"?)`);
    expectUsage(await cli('runs', '--flow', TYPO), `(did you mean "${FLOW_ID}"?)`);
    // Nothing near: no suggestion, the list of flows.
    const far = await cli('dlq', 'list', 'no-such-flow');
    expectUsage(far, 'enabled flows:');
    expect(far.err).not.toContain('did you mean');
  });
});

describe('runs', () => {
  it('refuses --until before --since with the reason, not a DynamoDB stack trace', async () => {
    expectUsage(
      await cli('runs', '--since', '2026-11-02', '--until', '2026-11-01'),
      '--until (2026-11-01T00:00:00.000Z) is before --since (2026-11-02T00:00:00.000Z)',
    );
  });

  it('refuses a --since in the future (a mistyped year), not "No runs match."', async () => {
    expectUsage(
      await cli('runs', '--since', '2027-11-02T08:00:00Z'),
      '--since (2027-11-02T08:00:00.000Z) is in the future (now 2026-11-02T08:00:00.000Z)',
    );
    expect((await cli('runs', '--since', '1h', '--until', '2027-01-01')).code).toBe(0);
  });

  it('refuses an unknown --outcome (not "No runs match.") and suggests the close one', async () => {
    expectUsage(
      await cli('runs', '--outcome', 'donee'),
      '--outcome: unknown outcome "donee" (did you mean "done"?)',
    );
    expectUsage(await cli('runs', '--outcome', 'done', 'deadlettered'), '(did you mean "dead-lettered"?)');
    expect((await cli('runs', '--outcome', 'dead-lettered', 'replayed', 'discarded')).code).toBe(0);
  });

  it("accepts the circuit breaker's own outcomes (README: its transitions are in the run log)", async () => {
    // As core/breaker.ts records an opening; the sandbox's breakers log under `circuit-breaker`.
    await sandbox.state.appendRun({
      flowId: FLOW_ID,
      eventId: 'breaker:upkeep:127.0.0.1:1:opened',
      eventType: 'circuit-breaker',
      outcome: 'circuit-open',
      message: 'circuit open for upkeep:127.0.0.1 after 5 failures (HTTP 503)',
      at: '2026-11-02T07:59:00.000Z',
      subject: 'upkeep:127.0.0.1',
    });
    const found = await cli('runs', '--flow', FLOW_ID, '--outcome', 'circuit-open', 'circuit-closed');
    expect(found.err).toBe('');
    expect(found.code).toBe(0);
    expect(found.out).toContain('circuit open for upkeep:127.0.0.1 after 5 failures');
  });
});

describe('backfill', () => {
  it('refuses --to before --from as bad usage, before asking to confirm', async () => {
    expectUsage(
      await cli('backfill', FLOW_ID, '--from', '2h', '--to', '3h'),
      '--from (2026-11-02T06:00:00.000Z) must be before --to (2026-11-02T05:00:00.000Z)',
    );
    expectUsage(await cli('backfill', FLOW_ID, '--from', '2h', '--to', '3h', '--yes'), 'must be before --to');
  });

  it('refuses a flow or --source that cannot backfill as bad usage, saying why', async () => {
    expectUsage(
      await cli('backfill', 'mobility-work-task-to-upkeep-work-order-status', '--from', '1h', '--yes'),
      'Webhook flow: no poll source to re-read',
    );
    expectUsage(
      await cli('backfill', FLOW_ID, '--from', '1h', '--source', 'upkeep.parts', '--yes'),
      `${FLOW_ID} has no poll source "upkeep.parts"; its sources: machinemetrics.downtime`,
    );
  });

  it('refuses a window ending in the future as bad usage', async () => {
    expectUsage(
      await cli('backfill', FLOW_ID, '--from', '1h', '--to', '2027-01-01T00:00:00Z', '--yes'),
      '--to (2027-01-01T00:00:00.000Z) is in the future',
    );
  });
});

describe('other names', () => {
  it('discover suggests the vendor meant, with exit code 2', async () => {
    expectUsage(await cli('discover', 'upkep'), 'unknown vendor "upkep" (did you mean "upkeep"?)');
  });

  it('webhooks register and secrets generate-webhook suggest the vendor meant, with exit code 2', async () => {
    expectUsage(await cli('webhooks', 'register', 'upkep', '--dry-run'), '(did you mean "upkeep"?)');
    expectUsage(
      await cli('secrets', 'generate-webhook', 'upkep'),
      'unknown vendor "upkep" (did you mean "upkeep"?)',
    );
  });

  it('test-event refuses an unknown example as bad usage, naming the examples', async () => {
    expectUsage(
      await cli('test-event', FLOW_ID, '--example', 'downtime-strated', '--dry-run'),
      /no example "downtime-strated" for flow .*; its examples: downtime-started/,
    );
  });
});

describe('nothing there', () => {
  it('dlq replay --all on an empty queue says it is empty, not "Replayed 0 of 0 ...; follow them"', async () => {
    const run = await cli('dlq', 'replay', FLOW_ID, '--all', '--yes');
    expect([run.code, run.err]).toEqual([0, '']);
    expect(run.out).toBe(`The dead-letter queue of ${FLOW_ID} is empty: nothing was replayed.\n`);
    const dry = await cli('dlq', 'replay', FLOW_ID, '--all', '--dry-run');
    expect(dry.out).toBe(`The dead-letter queue of ${FLOW_ID} is empty: nothing would be replayed.\n`);
  });

  it('repair forget-send of a key with no unconfirmed send is not found (exit 4), not "Forgot"', async () => {
    const run = await cli('repair', 'forget-send', `${FLOW_ID}:asset-down:no-such-episode`, '--yes');
    expect(run.code).toBe(4);
    expect(run.out).toBe('');
    expect(run.err).toContain('no unconfirmed send');
    expect(run.err).toContain('npx millwright parked list');
  });
});

describe('a parked event', () => {
  it('names the repair commands in its check, and they run as written', async () => {
    // Deepomatic creates two work orders but both answers are lost: both events are parked.
    const dm = sandbox.simulators.deepomatic as NonNullable<Sandbox['simulators']['deepomatic']>;
    await postJson(`${dm.url}/_sandbox/faults`, {
      match: 'POST /v0.2/work-orders',
      timeoutAfterWrite: true,
      delayMs: 3000,
      times: 2,
    });
    const control = sandboxControl(sandbox);
    const found = await control.upkeepWorkOrder({ title: 'Paint guard', category: 'Photo validation' });
    const missing = await control.upkeepWorkOrder({ title: 'Paint rail', category: 'Photo validation' });
    await sandbox.settle();
    const listed = await cli('parked', 'list', DM_FLOW);
    expect(listed.code).toBe(0);
    const parked = JSON.parse((await cli('--json', 'parked', 'list', DM_FLOW)).out) as {
      subject: string;
      eventId: string;
      check: string;
    }[];
    const checkOf = (wo: string) => parked.find((p) => p.subject === wo)?.check ?? '';
    // The check names the CLI, not the TypeScript functions behind it.
    expect(listed.out).not.toMatch(/adoptDeepomaticWorkOrder|forgetUnconfirmedSend|core\/claims\.ts/);
    const adopt = /\((npx millwright repair adopt-deepomatic [^)]*)\)/.exec(checkOf(found))?.[1];
    const forget = /\((npx millwright repair forget-send [^)]*)\)/.exec(checkOf(missing))?.[1];
    expect(adopt).toBe(`npx millwright repair adopt-deepomatic ${DM_FLOW} ${found} <its id>`);
    expect(forget).toBeDefined();

    // Typed as the check says (with the id found in Deepomatic): each repair is made.
    const existing = dm.workOrders().find((w) => w.name === `upkeep-${found}`);
    const words = (command: string) =>
      (command.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, '')).slice(2);
    const adopted = await cli(...words(adopt?.replace('<its id>', existing?.id ?? '') ?? ''), '--yes');
    expect([adopted.code, adopted.err]).toEqual([0, '']);
    const forgot = await cli(...words(forget ?? ''), '--yes');
    expect([forgot.code, forgot.err]).toEqual([0, '']);
    const key = words(forget ?? '')[2] ?? '';
    expect(await sandbox.state.getLatest('send-intent', key)).toBeUndefined();
    // Typed twice: nothing left to forget.
    expect((await cli(...words(forget ?? ''), '--yes')).code).toBe(4);
  });
});
