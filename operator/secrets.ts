/**
 * `millwright secrets generate-webhook <vendor>`: where Millwright, not the vendor, chooses the
 * webhook credential (the UpKeep URL token, the MachineMetrics Workflow secret), generate a random
 * one and merge it into the vendor's existing secret (PutSecretValue; the other fields are kept).
 * The deployed receivers pick it up within RECHECK_SECONDS (core/webhook-secret.ts): no redeploy.
 * Mobility Work is not here: MW gives the signing secret when a subscription is created.
 */
import { randomBytes } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { MillwrightError } from '../functions/core/errors.ts';
import { knownVendor } from './discover.ts';
import type { Target } from './target.ts';

/** The vendor cannot have a generated credential, is not configured, or the secret is not usable. */
export class WebhookSecretError extends MillwrightError {}

interface Generable {
  field: string;
  /** What to do at the vendor's side once the credential changed. */
  next: (vendor: string) => string[];
}

/** 32 random bytes, base64url: 43 URL-safe characters (UpKeep's token needs at least 32). */
const RANDOM_BYTES = 32;

export const GENERABLE_WEBHOOK_SECRETS: Readonly<Record<string, Generable>> = {
  upkeep: {
    field: 'webhookToken',
    next: () => [
      'register the new URL at UpKeep: npx millwright webhooks register upkeep',
      'or print it to register by hand: npx millwright webhooks urls --show-secrets',
    ],
  },
  machinemetrics: {
    field: 'webhookSecret',
    next: () => [
      'paste the secret into the "Secret" field of each MachineMetrics Workflow that calls the webhook (--show-secret prints it once)',
    ],
  },
};

export interface GeneratedWebhookSecret {
  vendor: string;
  secretName: string;
  field: string;
  /** True when an existing credential was replaced (--rotate). */
  rotated: boolean;
  /** The new credential; the CLI prints it only when asked. */
  value: string;
  next: string[];
}

export async function generateWebhookSecret(
  target: Target,
  vendor: string,
  options: { rotate?: boolean; client?: SecretsManagerClient } = {},
): Promise<GeneratedWebhookSecret> {
  knownVendor(vendor);
  const generable = GENERABLE_WEBHOOK_SECRETS[vendor];
  if (!generable) {
    const hint =
      vendor === 'mobility-work'
        ? ': Mobility Work chooses its signing secret when you create the subscription; add it to webhookSecrets in the vendor secret'
        : '';
    throw new WebhookSecretError(
      `no generated webhook credential for ${vendor}${hint} (generable: ${Object.keys(GENERABLE_WEBHOOK_SECRETS).join(', ')})`,
    );
  }
  const settings = (target.deployment.vendors as Record<string, { secretName?: string } | undefined>)[vendor];
  const secretName = settings?.secretName;
  if (!secretName)
    throw new WebhookSecretError(`${vendor} is not configured in this deployment (vendors.${vendor})`);
  if (!options.client && !target.secretsClientConfig) {
    throw new WebhookSecretError(`${target.label} cannot write secrets from here`);
  }
  const client = options.client ?? new SecretsManagerClient(target.secretsClientConfig ?? {});
  try {
    const current = await readObject(client, secretName);
    const rotated = current[generable.field] !== undefined;
    if (rotated && !options.rotate) {
      throw new WebhookSecretError(
        `secret ${secretName} already has ${generable.field}; --rotate replaces it (then the vendor's side must change too)`,
      );
    }
    const value = randomBytes(RANDOM_BYTES).toString('base64url');
    await client.send(
      new PutSecretValueCommand({
        SecretId: secretName,
        SecretString: JSON.stringify({ ...current, [generable.field]: value }),
      }),
    );
    return { vendor, secretName, field: generable.field, rotated, value, next: generable.next(vendor) };
  } finally {
    if (!options.client) client.destroy();
  }
}

/** The secret's JSON object, read fresh (never from a cache). */
async function readObject(
  client: SecretsManagerClient,
  secretName: string,
): Promise<Record<string, unknown>> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') {
      throw new WebhookSecretError(
        `secret ${secretName} does not exist: create it with the vendor's credentials first (README, Deploy)`,
        { cause: error },
      );
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    // The parser's message quotes the start of the value: neither ours nor a cause may carry it.
    throw new WebhookSecretError(`secret ${secretName} is not JSON (value not shown)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WebhookSecretError(`secret ${secretName} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
