/**
 * config/example-plant.json, the template a plant copies: it synthesizes offline (what
 * `npx cdk synth -c config=config/example-plant.json` runs), holds none of the sandbox's ids, and a
 * copy missing a field a real deployment needs fails synth with a ConfigError naming that field.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { connectors } from '../../functions/connectors/index.ts';
import { ConfigError } from '../../functions/core/errors.ts';
import { flows } from '../../functions/flows/index.ts';
import { planPollGroups } from '../../functions/runtime/shared-poll.ts';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';

const EXAMPLE = join(PROJECT_ROOT, 'config/example-plant.json');
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const DOWNTIME_FLOW = 'machinemetrics-downtime-to-upkeep-work-order';

type Config = {
  name: string;
  vendors: Record<string, Record<string, unknown>>;
  flows: Record<string, Record<string, unknown>>;
};
const example = (): Config => JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Config;

describe('config/example-plant.json', () => {
  it('synthesizes offline with every flow and vendor of the registry', () => {
    const built = buildApp(EXAMPLE, NO_BUNDLING);
    const assembly = built.app.synth();
    expect(assembly.getStackByName(built.stack.stackName).template).toBeDefined();
    expect(built.stack.stackName).toBe('MillwrightPlant');
    expect(built.deployment.enabled.map((e) => e.flow.id).sort()).toEqual(flows.map((f) => f.id).sort());
    expect(Object.keys(built.deployment.vendors).sort()).toEqual(connectors.map((c) => c.id).sort());
    // One queue and one DLQ per flow, and a scheduler DLQ per flow that polls on its own (in the
    // flows' nested stacks) and per poll group (the downtime flows share one poll).
    const resources = Object.values(flatTemplate(built.stack).Resources as Record<string, { Type: string }>);
    const { groups, ownPoll } = planPollGroups(built.deployment.enabled);
    expect(groups.map((g) => g.members.length)).toEqual([3]);
    const polling = flows.filter((f) => f.triggers.some((t, i) => t.kind === 'schedule' && ownPoll(f.id, i)));
    expect(resources.filter((r) => r.Type === 'AWS::SQS::Queue')).toHaveLength(
      flows.length * 2 + polling.length + groups.length,
    );
  });

  it('holds no sandbox ids and only placeholders that cannot be mistaken for real ones', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    for (const sandboxId of [
      'AssetMill01',
      'AssetLathe2',
      '17df9a0f',
      'plant-a',
      '0e871f8e',
      'plant.example',
    ]) {
      expect(text).not.toContain(sandboxId);
    }
    const config = example();
    for (const [id, vendor] of Object.entries(config.vendors)) {
      expect(vendor.secretName).toBe(`millwright/plant/${id}`);
    }
    for (const flow of Object.values(config.flows)) {
      for (const machine of Object.keys((flow.machines as Record<string, unknown> | undefined) ?? {})) {
        expect(machine).toMatch(/^00000000-0000-0000-0000-0000000000\d\d$/);
      }
    }
  });

  it('names a placeholder alarm e-mail, which synth warns about until it is replaced', () => {
    const built = buildApp(EXAMPLE, NO_BUNDLING);
    expect(built.deployment.alarms.emails).toEqual([expect.stringMatching(/@example\.com$/)]);
    const warnings = Annotations.fromStack(built.stack).findWarning('*', Match.stringLikeRegexp('alarm'));
    expect(warnings.map((w) => String(w.entry.data))).toEqual([
      expect.stringMatching(/alarms\.emails\[0\]: maintenance-it@example\.com is a placeholder address/),
    ]);
  });
});

describe('a plant config missing a field a real deployment needs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'millwright-example-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const failure = (name: string, change: (config: Config) => void): ConfigError => {
    const config = example();
    change(config);
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(config));
    try {
      buildApp(path, NO_BUNDLING);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected buildApp to fail');
  };

  it("fails naming a vendor's secretName", () => {
    const error = failure('no-secret', (c) => {
      delete c.vendors.upkeep?.secretName;
    });
    expect(error.path).toBe('vendors.upkeep.secretName');
    expect(error.message).toContain('vendors.upkeep.secretName');
  });

  it('fails naming the machines map of an enabled downtime flow that maps no machine', () => {
    const error = failure('no-machines', (c) => {
      (c.flows[DOWNTIME_FLOW] as Record<string, unknown>).machines = {};
    });
    expect(error.path).toBe(`flows.${DOWNTIME_FLOW}.machines`);
    expect(error.message).toContain(`flows.${DOWNTIME_FLOW}.machines`);
    expect(error.message).toContain('discover machinemetrics');
  });

  it('accepts an empty machines map when the flow is disabled, or unmapped machines go to a default asset', () => {
    const config = example();
    const downtime = config.flows[DOWNTIME_FLOW] as Record<string, unknown>;
    config.flows[DOWNTIME_FLOW] = {
      ...downtime,
      machines: {},
      unmappedMachines: 'default-asset',
      defaultAssetId: 'REPLACE-upkeep-asset-id-1',
    };
    config.flows['machinemetrics-downtime-to-mobility-work-task'] = {
      ...config.flows['machinemetrics-downtime-to-mobility-work-task'],
      enabled: false,
      machines: {},
    };
    const path = join(dir, 'default-asset.json');
    writeFileSync(path, JSON.stringify(config));
    expect(() => buildApp(path, NO_BUNDLING)).not.toThrow();
  });

  it('fails naming flows when no flow is enabled', () => {
    const error = failure('no-flows', (c) => {
      for (const flow of Object.values(c.flows)) flow.enabled = false;
    });
    expect(error.path).toBe('flows');
  });

  it("fails naming the Deepomatic siteId (the vendor's host)", () => {
    const error = failure('no-site', (c) => {
      delete c.vendors.deepomatic?.siteId;
    });
    expect(error.path).toBe('vendors.deepomatic.siteId');
  });
});
