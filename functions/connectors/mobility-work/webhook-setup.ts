/**
 * What `millwright webhooks` tells an operator about Mobility Work webhooks. There is no API to
 * subscribe (reference §7 #26): an administrator subscribes each event in the network's
 * integrations settings, with the URL and a signing secret (api-doc.txt, Webhooks).
 */
import type { WebhookSetup } from '../../core/connector.ts';
import type { MobilityWorkConfig, MobilityWorkSecret } from './config.ts';
import { MW_SIGNATURE_HEADER } from './signature.ts';

export const mobilityWorkWebhookSetup: WebhookSetup<MobilityWorkConfig, MobilityWorkSecret> = {
  auth: (config) => [
    `a signing secret on each subscription, listed in webhookSecrets of secret ${config.secretName} (${MW_SIGNATURE_HEADER}, signed string "${config.webhook.signatureScheme}", within ${config.webhook.toleranceSeconds} s)`,
    ...(config.webhook.requireSignature
      ? []
      : ['unsigned deliveries are accepted (webhook.requireSignature is false)']),
  ],

  steps: ({ url, events, settings }) => [
    "Mobility Work has no API to subscribe webhooks: an administrator sets them up in the network's integrations settings.",
    `Subscribe each event: ${events.join(', ')}`,
    `URL: ${url}`,
    `Signing secret: set one per subscription and add it to webhookSecrets in secret ${settings.secretName}.`,
    'Webhooks need a Premium or Ultimate network (a Starter network receives none).',
    ...(settings.networkId
      ? []
      : [
          "Set vendors.mobility-work.networkId (millwright discover mobility-work) so other networks' events are ignored.",
        ]),
  ],
};
