/**
 * A vendor outage opens the vendor account's circuit breaker in the sandbox (dynalite, the UpKeep
 * simulator, the sandbox's own env): requests stop reaching the vendor, and after the open period
 * exactly one probe goes through and closes it. The breaker runs on the wall clock, so the open
 * period here is one real second.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectUpKeep } from '../../functions/connectors/upkeep/client.ts';
import { BREAKER_RUN_FLOW, listBreakers } from '../../functions/core/breaker.ts';
import { CircuitOpenError } from '../../functions/core/errors.ts';
import { sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { sandboxCli } from '../support/cli.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
const { cli } = sandboxCli(() => sandbox);
beforeAll(async () => {
  sandbox = await startTestSandbox({
    breaker: { failureThreshold: 3, windowSeconds: 60, openSeconds: 1, maxOpenSeconds: 2 },
  });
});
afterAll(async () => {
  await sandbox?.close();
});

const workOrderReads = async (): Promise<number> => {
  const upkeep = sandbox.simulators.upkeep?.url ?? '';
  const { requests } = (await (await fetch(`${upkeep}/_sandbox/requests`)).json()) as { requests: string[] };
  return requests.filter((line) => line.startsWith('GET /api/v2/work-orders/')).length;
};

describe('the circuit breaker in the sandbox', () => {
  it('opens on a vendor outage, stops sending, then one probe closes it', async () => {
    // The in-process retries of one call wait no real time.
    const client = connectUpKeep(sandbox.env, { http: { sleep: async () => undefined } });
    await sandboxControl(sandbox).upkeepFault({
      match: 'GET /api/v2/work-orders/',
      status: 503,
      times: 1000,
    });

    // The first call's attempts fail three times: the third failure opens the breaker, and the
    // client's next attempt is refused, not sent.
    const first = await client.getWorkOrder('WO-1').catch((e: unknown) => e);
    expect(first).toBeInstanceOf(CircuitOpenError);
    expect(await workOrderReads()).toBe(3);
    for (let i = 0; i < 5; i++) {
      const refused = await client.getWorkOrder(`WO-${i}`).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CircuitOpenError);
      expect((refused as CircuitOpenError).retryAfterMs).toBeLessThanOrEqual(1000);
    }
    expect(await workOrderReads()).toBe(3);
    const [open] = (await listBreakers(sandbox.state)).filter((b) => b.vendor === 'upkeep');
    expect(open).toMatchObject({
      key: expect.stringMatching(/^upkeep:127\.0\.0\.1:\d+$/),
      status: 'open',
      failures: 3,
    });

    // `millwright status` shows it (JSON and table) and `--check` says it needs attention.
    const report = JSON.parse((await cli('--json', 'status')).out) as {
      breakers: { key: string; status: string; openUntil?: string }[];
      attention: string[];
    };
    expect(report.breakers.find((b) => b.key === open?.key)).toMatchObject({ status: 'open' });
    expect(report.breakers.find((b) => b.key === 'machinemetrics')).toMatchObject({ status: 'closed' });
    const until = open?.openUntil?.slice(11, 19);
    expect(report.attention).toContain(
      `${open?.key}: circuit breaker open until ${until} after 3 failures (HTTP 503)`,
    );
    const table = await cli('status', '--check');
    expect(table.code).toBe(5);
    expect(table.out).toMatch(
      new RegExp(
        `Circuit breakers \\(per vendor account\\)\\n.*\\n${open?.key}\\s+open until ${until} after 3 failures \\(HTTP 503\\)`,
      ),
    );

    // The vendor recovers; after the open period one probe goes through and closes the breaker.
    await sandboxControl(sandbox).clearUpkeepFaults();
    await new Promise((resolve) => setTimeout(resolve, Date.parse(open?.openUntil ?? '') - Date.now() + 5));
    expect(await client.getWorkOrder('WO-missing')).toBeUndefined(); // a 404: the vendor answers
    expect(await workOrderReads()).toBe(4);
    expect((await listBreakers(sandbox.state)).find((b) => b.key === open?.key)?.status).toBe('closed');
    expect(await client.getWorkOrder('WO-missing-2')).toBeUndefined();
    expect(await workOrderReads()).toBe(5);

    expect((await cli('status', '--check')).out).toMatch(new RegExp(`${open?.key}\\s+closed`));

    const runs = await sandbox.state.queryRuns({ flowId: BREAKER_RUN_FLOW });
    expect(runs.entries.map((e) => e.outcome).sort()).toEqual([
      'circuit-closed',
      'circuit-open',
      'circuit-open',
    ]);
    expect(runs.entries.map((e) => e.message).join('\n')).toMatch(
      /circuit opened for upkeep at 127\.0\.0\.1:\d+ after 3 failures within 60 s \(last: HTTP 503\); requests held until \d\d:\d\d:\d\d/,
    );
  });
});
