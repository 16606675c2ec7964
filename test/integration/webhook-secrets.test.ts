/**
 * Webhook secrets that follow the deploy, on the real sandbox (local Secrets Manager, ingress, the
 * CLI in process): the UpKeep route refuses deliveries until a token exists, `secrets
 * generate-webhook upkeep` writes one into the existing secret (PutSecretValue, other fields kept),
 * `webhooks urls --show-secrets` shows it, and a delivery to that URL is accepted once the
 * receiver's recheck window has passed; nothing restarted or redeployed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RECHECK_SECONDS } from '../../functions/core/webhook-secret.ts';
import type { VendorWebhook } from '../../operator/webhooks.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { sandboxCli } from '../support/cli.ts';
import { startTestSandbox, templateSecrets } from '../support/sandbox.ts';

let sandbox: Sandbox;
const { cli, json } = sandboxCli(() => sandbox);
const UPKEEP = 'millwright/upkeep';
const upkeepSecret = () => (templateSecrets() as Record<string, Record<string, unknown>>)[UPKEEP] ?? {};

beforeAll(async () => {
  const { webhookToken: _none, ...withoutToken } = upkeepSecret();
  sandbox = await startTestSandbox({ secrets: { ...templateSecrets(), [UPKEEP]: withoutToken } });
});
afterAll(async () => {
  await sandbox?.close();
});

/** An UpKeep event no flow subscribes to: acknowledged (202) without starting a flow. */
const deliver = (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event: 'PURCHASE_ORDER_APPROVED', data: { id: 'po-1' } }),
  });

const upkeepUrl = async () => {
  const hooks = await json<VendorWebhook[]>('webhooks', 'urls', '--show-secrets');
  const url = hooks.find((h) => h.vendor === 'upkeep')?.url;
  if (!url) throw new Error('no UpKeep webhook URL');
  return url;
};

describe('secrets generate-webhook upkeep on the sandbox', () => {
  it('refuses deliveries before the token exists, then accepts the generated one', async () => {
    const before = await deliver(`${sandbox.ingressUrl}/webhooks/upkeep/${'x'.repeat(43)}`);
    expect(before.status).toBe(401);
    expect(await before.json()).toEqual({ message: 'upkeep webhooks have no credential configured' });

    const generated = await cli('secrets', 'generate-webhook', 'upkeep');
    expect(generated).toMatchObject({ code: 0, err: '' });
    expect(generated.out).toContain(`generated webhookToken in secret ${UPKEEP}`);
    expect(generated.out).toContain('npx millwright webhooks register upkeep');

    const url = await upkeepUrl();
    const token = url.split('/').at(-1) ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Printed only on request.
    expect(generated.out).not.toContain(token);

    const again = await cli('secrets', 'generate-webhook', 'upkeep');
    expect(again.code).toBe(1);
    expect(again.err).toContain(`secret ${UPKEEP} already has webhookToken; --rotate replaces it`);

    sandbox.clock.advance(RECHECK_SECONDS * 1000);
    const accepted = await deliver(url);
    expect(accepted.status).toBe(202);
    expect(await deliver(`${sandbox.ingressUrl}/webhooks/upkeep/${'x'.repeat(43)}`)).toMatchObject({
      status: 401,
    });
  });

  it('--rotate --show-secret replaces the token; the new URL works and the old one is refused', async () => {
    const old = await upkeepUrl();
    sandbox.clock.advance(RECHECK_SECONDS * 1000);
    const rotated = await json<{ value: string; rotated: boolean; field: string }>(
      'secrets',
      'generate-webhook',
      'upkeep',
      '--rotate',
      '--show-secret',
    );
    expect(rotated).toMatchObject({ rotated: true, field: 'webhookToken' });
    const url = await upkeepUrl();
    expect(url.endsWith(`/${rotated.value}`)).toBe(true);
    expect((await deliver(url)).status).toBe(202);
    expect((await deliver(old)).status).toBe(401);
  });

  it("keeps the secret's other fields", async () => {
    // discover logs in to UpKeep with the secret's email and password, which PutSecretValue kept.
    const res = await cli('--json', 'discover', 'upkeep');
    expect(res.code).toBe(0);
  });

  it('mobility-work: says the vendor chooses that secret', async () => {
    const res = await cli('secrets', 'generate-webhook', 'mobility-work');
    expect(res.code).toBe(1);
    expect(res.err).toContain('Mobility Work chooses its signing secret');
  });
});
