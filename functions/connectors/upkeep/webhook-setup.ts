/**
 * What `millwright webhooks` tells an operator about UpKeep webhooks, and their registration through
 * the API (reference §3.11, §4): `POST /webhooks` answers a *disabled* webhook, so a create is
 * followed by `PATCH /webhooks/<ID> {enabled: true}` and a GET to check it took. An existing webhook
 * with the same endpoint is reused (enabled, its events completed), never registered twice.
 */
import type { WebhookRegistrationResult, WebhookSetup } from '../../core/connector.ts';
import { MillwrightError } from '../../core/errors.ts';
import { connectUpKeep } from './client.ts';
import type { UpKeepConfig, UpKeepSecret } from './config.ts';

/** The registered webhook came back disabled after we enabled it. */
export class UpKeepWebhookNotEnabledError extends MillwrightError {}

export const upkeepWebhookSetup: WebhookSetup<UpKeepConfig, UpKeepSecret> = {
  auth: (config) => [
    `UpKeep signs nothing: the {token} in the URL is the proof (webhookToken of secret ${config.secretName}, at least 32 characters); keep the URL secret`,
  ],

  secretParams: (secret): Record<string, string> =>
    secret.webhookToken ? { token: secret.webhookToken } : {},

  steps: ({ url, events }) => [
    'Run `millwright webhooks register upkeep`, or in UpKeep: Settings > Webhooks > add a webhook:',
    `Endpoint: ${url} (with the webhookToken in place of {token})`,
    `Events: ${events.join(', ')}`,
    'Then enable it (a new webhook starts disabled).',
  ],

  async register(env, { title, url, events, dryRun }): Promise<WebhookRegistrationResult> {
    const client = connectUpKeep(env);
    const [current, ...others] = (await client.listWebhooks()).filter((w) => w.endpoint === url);
    const details: string[] = [];
    if (others.length > 0) {
      details.push(
        `${others.length} more webhook(s) have this endpoint (${others.map((w) => w.id).join(', ')}); left as they are`,
      );
    }
    if (!current) {
      if (dryRun) {
        return {
          action: 'created',
          details: [
            ...details,
            `would POST /webhooks "${title}" for ${events.join(', ')}`,
            'would PATCH it enabled',
          ],
        };
      }
      const created = await client.createWebhook({ title, endpoint: url, events: [...events] });
      details.push(`POST /webhooks: webhook ${created.id} created (enabled: ${created.enabled})`);
      if (!created.enabled) {
        await client.updateWebhook(created.id, { enabled: true });
        details.push(`PATCH /webhooks/${created.id}: enabled`);
      }
      await checkEnabled(client, created.id);
      return { action: 'created', id: created.id, details };
    }
    const missing = events.filter((e) => !current.events.includes(e));
    if (current.enabled && missing.length === 0) {
      return {
        action: 'unchanged',
        id: current.id,
        details: [...details, `webhook ${current.id} exists, enabled, subscribed to every event needed`],
      };
    }
    const patch = {
      enabled: true,
      ...(missing.length > 0 ? { events: [...current.events, ...missing] } : {}),
    };
    const what = [
      ...(current.enabled ? [] : ['enabled']),
      ...(missing.length > 0 ? [`events + ${missing.join(', ')}`] : []),
    ].join('; ');
    if (dryRun) {
      return {
        action: 'updated',
        id: current.id,
        details: [...details, `would PATCH webhook ${current.id}: ${what}`],
      };
    }
    await client.updateWebhook(current.id, patch);
    details.push(`PATCH /webhooks/${current.id}: ${what}`);
    await checkEnabled(client, current.id);
    return { action: 'updated', id: current.id, details };
  },
};

/** Read the webhook back: UpKeep's answers are the only proof that it will send. */
async function checkEnabled(client: ReturnType<typeof connectUpKeep>, id: string): Promise<void> {
  const webhook = await client.getWebhook(id);
  if (!webhook?.enabled) {
    throw new UpKeepWebhookNotEnabledError(
      `upkeep webhook ${id} is ${webhook ? 'still disabled' : 'gone'} after registration; check Settings > Webhooks`,
    );
  }
}
