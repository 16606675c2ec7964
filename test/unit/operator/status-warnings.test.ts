/**
 * `status` on a deployed stack says what the deployment itself leaves unwatched: with no alarm
 * e-mail and no alarm topic in the config it deployed from, every alarm fires unseen.
 */
import { describe, expect, it } from '@jest/globals';
import { status } from '../../../operator/status.ts';
import type { Target } from '../../../operator/target.ts';

function fakeTarget(kind: Target['kind'], alarms: Record<string, unknown>): Target {
  return {
    kind,
    label: 'test',
    deployment: { name: 'Plant', vendors: {}, enabled: [], alarms, runtime: {} },
    state: { listMembers: async () => [], getVersioned: async () => undefined },
    flows: new Map(),
    switches: { set: async () => [] },
    env: () => ({ vendors: {} }),
    close: () => undefined,
  } as unknown as Target;
}

describe('status warnings', () => {
  it('warns, naming alarms.emails, when the stack was deployed with no alarm recipient', async () => {
    const report = await status(fakeTarget('stack', {}));
    expect(report.warnings).toEqual([expect.stringContaining('alarms.emails')]);
    expect(report.warnings[0]).toContain('no alarm reaches a person');
  });

  it('does not warn when the config names an e-mail or a topic, or on the sandbox (it has no alarms)', async () => {
    expect((await status(fakeTarget('stack', { emails: ['it@plant-a.example'] }))).warnings).toEqual([]);
    expect(
      (await status(fakeTarget('stack', { topicArn: 'arn:aws:sns:eu-west-1:123456789012:oncall' }))).warnings,
    ).toEqual([]);
    expect((await status(fakeTarget('sandbox', {}))).warnings).toEqual([]);
  });
});
