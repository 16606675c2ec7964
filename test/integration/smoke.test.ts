/**
 * `millwright smoke` against the real sandbox: every check passes on a healthy deployment, and a
 * wrong UpKeep password (rotated in the local Secrets Manager, the simulator keeping the real one)
 * fails UpKeep's auth check by name, with exit code 1. Nothing the checks do moves a watermark.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { SmokeReport } from '../../operator/smoke.ts';
import { smokeCheck } from '../../operator/smoke.ts';
import { sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { sandboxCli } from '../support/cli.ts';
import { startTestSandbox, templateSecrets } from '../support/sandbox.ts';

let sandbox: Sandbox;
const { cli } = sandboxCli(() => sandbox);

beforeAll(async () => {
  sandbox = await startTestSandbox();
  await sandboxControl(sandbox).advance(0);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('millwright smoke', () => {
  it('passes every check on the sandbox: secrets, auth, unsigned webhooks refused, dry polls', async () => {
    const { code, out, err } = await cli('--json', 'smoke');
    const report = JSON.parse(out) as SmokeReport;
    const failed = report.checks.filter((c) => !c.ok);
    expect({ code, err, failed }).toEqual({ code: 0, err: '', failed: [] });
    expect(report.ok).toBe(true);
    const names = report.checks.map((c) => c.name);
    for (const vendor of ['MachineMetrics', 'UpKeep', 'Mobility Work', 'Click Maint', 'Deepomatic']) {
      expect(names).toContain(`secret: ${vendor}`);
      expect(names).toContain(`auth: ${vendor}`);
    }
    for (const vendor of ['MachineMetrics', 'UpKeep', 'Mobility Work']) {
      const webhook = report.checks.find((c) => c.name === `webhook: ${vendor}`);
      expect(webhook?.detail).toMatch(/answered 401 to an unsigned request/);
    }
    const polls = report.checks.filter((c) => c.kind === 'poll');
    expect(polls.length).toBeGreaterThanOrEqual(5);
    for (const p of polls) expect(p.detail).toMatch(/nothing enqueued or saved/);
    // Every auth check made a real read (a probe exists for each vendor).
    for (const c of report.checks.filter((c) => c.kind === 'auth')) expect(c.detail).not.toMatch(/no probe/);
  });

  it('moves no poll watermark and enqueues nothing', async () => {
    const before = await cli('--json', 'status');
    await cli('smoke');
    const after = await cli('--json', 'status');
    const view = (out: string) =>
      (
        JSON.parse(out) as { flows: { flowId: string; queue: unknown; polls: { watermark?: string }[] }[] }
      ).flows.map((f) => [f.flowId, f.queue, f.polls.map((p) => p.watermark)]);
    expect(view(after.out)).toEqual(view(before.out));
  });

  it('fails naming UpKeep auth, with exit code 1, when the UpKeep password is wrong', async () => {
    const good = templateSecrets()['millwright/upkeep'] as Record<string, unknown>;
    sandbox.secrets.set('millwright/upkeep', { ...good, password: 'not-the-password' });
    try {
      const { code, out } = await cli('smoke');
      expect(code).toBe(1);
      expect(out).toMatch(/auth: UpKeep\s+FAILED/);
      expect(out).toMatch(/check\(s\) failed/);
      const json = await cli('--json', 'smoke');
      const report = JSON.parse(json.out) as SmokeReport;
      const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
      expect(failed).toContain('auth: UpKeep');
      // The secret itself still has the right shape: only the vendor refuses it.
      expect(failed).not.toContain('secret: UpKeep');
      expect(failed.every((n) => n === 'auth: UpKeep' || n.startsWith('poll: '))).toBe(true);
      expect(report.ok).toBe(false);
    } finally {
      sandbox.secrets.set('millwright/upkeep', good);
    }
  });

  it('fails each webhook check when the ingress accepts unsigned requests (answers 200)', async () => {
    const open = createServer((_req, res) => res.writeHead(200).end('{}'));
    await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve));
    const target = {
      ...sandboxTarget(sandbox),
      ingressUrl: `http://127.0.0.1:${(open.address() as AddressInfo).port}`,
    };
    try {
      const report = await smokeCheck(target);
      const webhooks = report.checks.filter((c) => c.kind === 'webhook');
      expect(webhooks.length).toBe(3);
      for (const c of webhooks) {
        expect(c.ok).toBe(false);
        expect(c.detail).toMatch(/answered 200 to an unsigned request \(expected 401\)/);
      }
      expect(report.ok).toBe(false);
    } finally {
      target.close();
      await new Promise((resolve) => open.close(resolve));
    }
  });

  it('shows an example in --help', async () => {
    const { code, out } = await cli('smoke', '--help');
    expect(code).toBe(0);
    expect(out).toContain('npx millwright smoke');
  });
});
