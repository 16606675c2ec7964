/**
 * `discover` and `webhooks` against the real sandbox (dynalite, local SQS and secrets, the
 * simulators, the ingress): each vendor's seeded ids are listed, the webhook URLs printed are the
 * ones the ingress accepts (with the vendor's proof) and refuses (without it), and registering the
 * UpKeep webhook twice leaves one webhook at the simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SIM_MACHINES } from '../../functions/connectors/machinemetrics/simulator/index.ts';
import { signMobilityWorkWebhook } from '../../functions/connectors/mobility-work/signature.ts';
import { connectUpKeep } from '../../functions/connectors/upkeep/client.ts';
import {
  UPKEEP_SIM_ASSET_IDS,
  UPKEEP_SIM_SEED_PARTS,
} from '../../functions/connectors/upkeep/simulator/index.ts';
import { silentLog } from '../../functions/core/log.ts';
import { DiscoverUnavailableError, discover, UnknownVendorError } from '../../operator/discover.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Target } from '../../operator/target.ts';
import { NoWebhookError, registerWebhook, type VendorWebhook, webhookUrls } from '../../operator/webhooks.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox, templateSecrets } from '../support/sandbox.ts';

let sandbox: Sandbox;
let target: Target;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  target = sandboxTarget(sandbox);
});
afterAll(async () => {
  target?.close();
  await sandbox?.close();
});

const secret = (name: string) => (templateSecrets() as Record<string, Record<string, unknown>>)[name] ?? {};
const ids = (rows: Record<string, string>[]) => rows.map((r) => r.id);

describe('discover', () => {
  it('machinemetrics: the simulator machines, and a machines skeleton per downtime flow', async () => {
    const result = await discover(target, 'machinemetrics');
    expect(result.lists.map((l) => l.kind)).toEqual(['machines']);
    expect(result.lists[0]?.rows).toEqual(SIM_MACHINES.map((m) => ({ id: m.id, name: m.name })));
    const flows = (result.fragment as { flows: Record<string, { machines: Record<string, unknown> }> }).flows;
    for (const map of Object.values(flows)) {
      expect(Object.keys(map.machines).sort()).toEqual(SIM_MACHINES.map((m) => m.id).sort());
    }
    expect(result.hints.length).toBeGreaterThan(0);
  });

  it('upkeep: the seeded assets and parts', async () => {
    const { lists } = await discover(target, 'upkeep');
    const byKind = Object.fromEntries(lists.map((l) => [l.kind, l.rows]));
    expect(ids(byKind.assets ?? [])).toEqual([...UPKEEP_SIM_ASSET_IDS]);
    expect(ids(byKind.parts ?? []).sort()).toEqual(UPKEEP_SIM_SEED_PARTS.map((p) => p.id).sort());
  });

  it('click-maint: the entities, their assets and parts', async () => {
    const { lists, fragment } = await discover(target, 'click-maint');
    const byKind = Object.fromEntries(lists.map((l) => [l.kind, l.rows]));
    expect(ids(byKind.entities ?? [])).toContain('1');
    expect(byKind.assets?.filter((a) => a.entity === '1').map((a) => a.id)).toEqual(['46', '45']);
    expect(byKind.parts?.map((p) => p.key)).toEqual(
      expect.arrayContaining(['1/101', '1/102', '1/103', '1/104']),
    );
    expect(byKind.parts?.find((p) => p.key === '1/104')?.stock).toBe('no');
    expect(fragment).toMatchObject({ vendors: { 'click-maint': { entities: [1] } } });
  });

  it('mobility-work: the network the key belongs to, and why equipment cannot be listed', async () => {
    const { lists, fragment } = await discover(target, 'mobility-work');
    const networkId = (target.deployment.vendors as { 'mobility-work': { networkId: string } })[
      'mobility-work'
    ].networkId;
    expect(lists[0]?.rows[0]?.networkId).toBe(networkId);
    expect(lists[0]?.note).toContain('cannot list equipment or spare parts');
    expect(fragment).toEqual({ vendors: { 'mobility-work': { networkId } } });
  });

  it('deepomatic: says why its API cannot be listed', async () => {
    await expect(discover(target, 'deepomatic')).rejects.toThrow(DiscoverUnavailableError);
    await expect(discover(target, 'deepomatic')).rejects.toThrow(/siteId.*Deployments > Credentials/);
  });

  it('an unknown vendor names the known ones', async () => {
    await expect(discover(target, 'maximo')).rejects.toThrow(UnknownVendorError);
    await expect(discover(target, 'maximo')).rejects.toThrow(/upkeep/);
  });
});

describe('webhooks urls', () => {
  let hooks: Map<string, VendorWebhook>;
  beforeAll(async () => {
    hooks = new Map((await webhookUrls(target, { showSecrets: true })).map((h) => [h.vendor, h]));
  });

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('lists the vendors whose webhooks enabled flows use, with events, auth and steps', async () => {
    expect([...hooks.keys()].sort()).toEqual(['machinemetrics', 'mobility-work', 'upkeep']);
    const upkeep = hooks.get('upkeep');
    expect(upkeep?.events).toEqual(
      expect.arrayContaining(['WORK_ORDER_UPDATED', 'WORK_ORDER_STATUS_UPDATED']),
    );
    expect(upkeep?.events.every((e) => !e.startsWith('upkeep.'))).toBe(true);
    expect(upkeep?.registrable).toBe(true);
    expect(hooks.get('machinemetrics')?.auth.join(' ')).toContain('x-mm-webhook-secret');
    expect(hooks.get('mobility-work')?.steps.join(' ')).toContain('integrations settings');
    expect(hooks.get('mobility-work')?.events).toContain('TaskWasCompleted');
  });

  it('hides the UpKeep token unless asked', async () => {
    const hidden = (await webhookUrls(target)).find((h) => h.vendor === 'upkeep');
    expect(hidden?.url).toBe(`${target.ingressUrl}/webhooks/upkeep/{token}`);
    expect(hidden?.secretHidden).toBe(true);
    const token = secret('millwright/upkeep').webhookToken as string;
    expect(hooks.get('upkeep')?.url).toBe(`${target.ingressUrl}/webhooks/upkeep/${token}`);
    expect(hooks.get('upkeep')?.secretHidden).toBe(false);
  });

  it('the UpKeep URL accepts a delivery; with another token it is refused', async () => {
    const url = hooks.get('upkeep')?.url as string;
    const body = { event: 'WORK_ORDER_UPDATED', data: { id: 'WoNotThere01' } };
    expect((await post(url, body)).status).toBe(202);
    expect((await post(url.replace(/[^/]+$/, 'x'.repeat(40)), body)).status).toBe(401);
  });

  it('the MachineMetrics URL accepts a delivery with the shared secret header, not without', async () => {
    const url = hooks.get('machinemetrics')?.url as string;
    const body = {
      event: 'downtime.categorized',
      machineId: SIM_MACHINES[0]?.id,
      timestamp: '2026-11-02T08:00:00.000Z',
      reasonId: 33,
      downtimeStartedAt: '2026-11-02T07:30:00.000Z',
    };
    const key = secret('millwright/machinemetrics').webhookSecret as string;
    expect((await post(url, body, { 'x-mm-webhook-secret': key })).status).toBe(202);
    expect((await post(url, body)).status).toBe(401);
  });

  it('the Mobility Work URL accepts a signed delivery, not a badly signed one', async () => {
    const url = hooks.get('mobility-work')?.url as string;
    const rawBody = JSON.stringify({ _event: 'SomethingNew', _idempotencyKey: 'k-discover-1' });
    const sign = (key: string, nonce: string) =>
      signMobilityWorkWebhook({
        secret: key,
        scheme: 't.nonce.body',
        t: Math.floor(sandbox.clock.now().getTime() / 1000),
        nonce,
        rawBody,
      });
    const [key] = secret('millwright/mobility-work').webhookSecrets as string[];
    expect((await post(url, rawBody, { 'x-mw-signature': sign(key as string, 'a'.repeat(40)) })).status).toBe(
      200,
    );
    expect(
      (await post(url, rawBody, { 'x-mw-signature': sign('not-the-secret', 'b'.repeat(40)) })).status,
    ).toBe(401);
  });
});

describe('webhooks register', () => {
  it('registers the UpKeep webhook once, enabled, at the URL the ingress accepts, however often it runs', async () => {
    const upkeep = sandbox.simulators.upkeep;
    if (!upkeep) throw new Error('no UpKeep simulator');
    const dry = await registerWebhook(target, 'upkeep', { dryRun: true });
    expect(dry).toMatchObject({ registered: false, action: 'created' });
    expect(upkeep.registeredWebhooks()).toEqual([]);

    const first = await registerWebhook(target, 'upkeep');
    const second = await registerWebhook(target, 'upkeep');
    expect(first).toMatchObject({ registered: true, action: 'created' });
    expect(second).toMatchObject({ registered: true, action: 'unchanged', id: first.id });
    expect(first.url).toContain('{token}');
    const url = (await webhookUrls(target, { showSecrets: true })).find((h) => h.vendor === 'upkeep')?.url;
    expect(upkeep.registeredWebhooks()).toEqual([
      expect.objectContaining({ id: first.id, endpoint: url, enabled: true, events: first.events }),
    ]);

    // The sandbox already sends to that URL: one delivery per event, not two.
    const before = upkeep.webhookDeliveries().length;
    await connectUpKeep(target.env(silentLog)).createWorkOrder({ title: 'Registered webhook check' });
    await upkeep.flushWebhooks();
    const deliveries = upkeep.webhookDeliveries().slice(before);
    expect(deliveries.map((d) => [d.event, d.url, d.status])).toEqual([['WORK_ORDER_CREATED', url, 202]]);
  });

  it('vendors without a registration API get the steps instead', async () => {
    const result = await registerWebhook(target, 'mobility-work');
    expect(result.registered).toBe(false);
    expect(result.steps.join('\n')).toContain(`${target.ingressUrl}/webhooks/mobility-work`);
  });

  it('a vendor no enabled flow takes webhooks from is refused', async () => {
    await expect(registerWebhook(target, 'deepomatic')).rejects.toThrow(NoWebhookError);
  });
});
