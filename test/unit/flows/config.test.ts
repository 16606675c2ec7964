import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { validateDeployment } from '../../../functions/config/deployment.ts';
import { ConfigError } from '../../../functions/core/errors.ts';
import { flows } from '../../../functions/flows/index.ts';
import { startSandbox } from '../../../sandbox/runtime.ts';

const FLOW = 'machinemetrics-downtime-to-upkeep-work-order';
// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary config paths.
const base = () => JSON.parse(readFileSync('config/default.json', 'utf8')) as Record<string, any>;

const problem = (raw: unknown): ConfigError => {
  try {
    validateDeployment(raw, flows, 'test config');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('config was accepted');
};

describe('deployment config', () => {
  it('accepts the committed default config and applies defaults', () => {
    const d = validateDeployment(base(), flows);
    expect(d.enabled.map((e) => e.flow.id)).toEqual(flows.map((f) => f.id));
    expect(d.runtime.maxReceiveCount).toBe(3);
  });

  it('names the path of a bad flow field', () => {
    const raw = base();
    raw.flows[FLOW].minimumMinutes = 0;
    const error = problem(raw);
    expect(error.path).toBe(`flows.${FLOW}.minimumMinutes`);
    expect(error.message).toContain('must be >= 1');
  });

  it('names the path of a bad fractionalQuantity choice of a stock flow', () => {
    const raw = base();
    const stockFlow = 'upkeep-part-low-to-mobility-work-stock';
    raw.flows[stockFlow] = { ...raw.flows[stockFlow], fractionalQuantity: 'ceil' };
    expect(problem(raw).path).toBe(`flows.${stockFlow}.fractionalQuantity`);
    const ok = base();
    ok.flows[stockFlow] = { ...ok.flows[stockFlow], fractionalQuantity: 'round' };
    const d = validateDeployment(ok, flows);
    const entry = d.enabled.find((e) => e.flow.id === stockFlow);
    expect(entry?.config).toMatchObject({ fractionalQuantity: 'round' });
  });

  it('names a bad machine mapping', () => {
    const raw = base();
    raw.flows[FLOW].machines['0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c'] = { asset: 'typo' };
    expect(problem(raw).message).toContain(
      `flows.${FLOW}.machines.0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c.assetId`,
    );
  });

  it('rejects an unknown flow id', () => {
    const raw = base();
    raw.flows['no-such-flow'] = {};
    expect(problem(raw).path).toBe('flows.no-such-flow');
  });

  it('requires the vendors an enabled flow uses', () => {
    const raw = base();
    delete raw.vendors.upkeep;
    expect(problem(raw).path).toBe('vendors.upkeep');
  });

  it('requires defaultAssetId when unmapped machines go to a default asset', () => {
    const raw = base();
    raw.flows[FLOW].unmappedMachines = 'default-asset';
    expect(problem(raw).path).toBe(`flows.${FLOW}.defaultAssetId`);
  });

  it('rejects unknown top-level keys (typos do not pass silently)', () => {
    const raw = base();
    raw.runtme = {};
    expect(problem(raw).message).toContain('runtme');
  });

  it('a bad config stops the sandbox at start, naming the field', async () => {
    const raw = base();
    raw.vendors.upkeep.apiVersion = 'latest';
    await expect(startSandbox({ config: raw, secrets: {} })).rejects.toThrow('vendors.upkeep.apiVersion');
  });

  it('names bad Mobility Work settings and flow fields', () => {
    const raw = base();
    raw.vendors['mobility-work'].webhook.signatureScheme = 'sha1';
    expect(problem(raw).path).toBe('vendors.mobility-work.webhook.signatureScheme');
    const task = base();
    task.flows['machinemetrics-downtime-to-mobility-work-task'].task.assignees = [];
    expect(problem(task).path).toBe('flows.machinemetrics-downtime-to-mobility-work-task.task.assignees');
    const mode = base();
    mode.flows['upkeep-part-low-to-mobility-work-stock'].mode = 'sometimes';
    expect(problem(mode).path).toBe('flows.upkeep-part-low-to-mobility-work-stock.mode');
  });

  it('requires the Mobility Work vendor settings when a Mobility Work flow is enabled', () => {
    const raw = base();
    delete raw.vendors['mobility-work'];
    expect(problem(raw).path).toBe('vendors.mobility-work');
  });
  // An empty tag passed the flow config but is refused by the connectors before any create
  // (deepomatic schemas.ts `tags: array(nonEmpty)`, mobility-work client.ts tags: int | nonEmpty |
  // typed), so every event of the flow failed at run time instead of the config failing at start.
  it('refuses an empty tag where the connector would refuse every create with it', () => {
    const deepomatic = 'upkeep-work-order-to-deepomatic-validation';
    const raw = base();
    raw.flows[deepomatic].deepomatic.tags = ['upkeep', ''];
    expect(problem(raw).path).toBe(`flows.${deepomatic}.deepomatic.tags[1]`);
    const task = 'machinemetrics-downtime-to-mobility-work-task';
    const rawTask = base();
    rawTask.flows[task].task.tags = [''];
    expect(problem(rawTask).path).toBe(`flows.${task}.task.tags[0]`);
  });

  // Same for an UpKeep location id: createWorkOrder refuses `location: ''` (upkeep schemas.ts), so a
  // machine mapped with an empty location had every downtime work order fail at run time.
  it('refuses an empty UpKeep location in a machine mapping', () => {
    const raw = base();
    const machine = '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c';
    raw.flows[FLOW].machines[machine] = { assetId: 'AssetMill01', location: '' };
    expect(problem(raw).path).toBe(`flows.${FLOW}.machines.${machine}.location`);
  });
});

// The Click Maint stock flow keys its parts `<entityId>/<partId>` (partKey); a key written as the
// bare part id was accepted and never matched, so with onlyListedParts nothing was ever synced.
describe('Click Maint part mapping keys', () => {
  const CM = 'click-maint-part-low-to-mobility-work-stock';
  it('refuses a part key that is not <entityId>/<partId>, naming the key', () => {
    const raw = base();
    raw.flows[CM] = { ...raw.flows[CM], parts: { '1/42': 'BRG-1', '42': 'BRG-2' } };
    const error = problem(raw);
    expect(error.path).toBe(`flows.${CM}.parts.42`);
    expect(error.message).toContain('<entityId>/<partId>');
  });
});

// The Mobility Work task flow waits (NotReadyError) up to unansweredCreate.waitMinutes for the
// webhook of an unanswered create, then parks or resends once. The worker parks any waiting event
// past runtime.retry.waitBudgetSeconds (and dead-letters it past the retry horizon), so a longer
// waitMinutes was accepted and `resend-once` could never happen.
describe('Mobility Work task: unanswered-create wait vs the runtime wait budget', () => {
  const TASK = 'machinemetrics-downtime-to-mobility-work-task';
  const PATH = `flows.${TASK}.task.unansweredCreate.waitMinutes`;
  const withWait = (waitMinutes: number) => {
    const raw = base();
    raw.flows[TASK].task.unansweredCreate = { waitMinutes, onNoWebhook: 'resend-once' };
    return raw;
  };

  it('refuses a wait the worker would cut short by its wait budget, naming the field', () => {
    const raw = withWait(600);
    raw.runtime = { ...raw.runtime, retry: { waitBudgetSeconds: 8 * 3600 } };
    const error = problem(raw);
    expect(error.path).toBe(PATH);
    expect(error.message).toContain('runtime.retry.waitBudgetSeconds');
  });

  it('refuses a wait longer than the flow retry horizon', () => {
    const raw = withWait(120);
    raw.flows[TASK].retryHorizonSeconds = 3600;
    expect(problem(raw).path).toBe(PATH);
  });

  it('accepts a wait within both', () => {
    const raw = withWait(60);
    raw.flows[TASK].retryHorizonSeconds = 3 * 3600;
    expect(() => validateDeployment(raw, flows)).not.toThrow();
  });
});

// A stock write sets Mobility Work's quantity (absolute, not a delta): two source parts mapped to
// one reference would overwrite each other's stock on every change, so it is refused.
describe('stock flows: one Mobility Work reference per part', () => {
  it('refuses a second part mapped to the same reference, naming its key', () => {
    const UK = 'upkeep-part-low-to-mobility-work-stock';
    const raw = base();
    raw.flows[UK] = { ...raw.flows[UK], parts: { PartA: 'MW-BELT', PartB: 'MW-SEAL', PartC: 'MW-BELT' } };
    const error = problem(raw);
    expect(error.path).toBe(`flows.${UK}.parts.PartC`);
    expect(error.message).toContain('PartA');
    const CM = 'click-maint-part-low-to-mobility-work-stock';
    const cm = base();
    cm.flows[CM] = { ...cm.flows[CM], parts: { '1/2': 'MW-1', '3/2': 'MW-1' } };
    expect(problem(cm).path).toBe(`flows.${CM}.parts.3/2`);
  });
});
