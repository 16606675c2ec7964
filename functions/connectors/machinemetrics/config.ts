/**
 * MachineMetrics settings from the deployment config (`vendors.machinemetrics`) and the shape of its
 * secret. Config carries the secret *name* only; the API key and the Workflow webhook secret live in
 * Secrets Manager.
 */
import * as z from 'zod/mini';
import { ConfigError } from '../../core/errors.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';

export const MACHINEMETRICS_DEFAULT_BASE_URL = 'https://api.machinemetrics.com';
/** Default of `reportMachineLimit` (an assumption, see there). */
export const REPORT_MACHINE_LIMIT = 500;

export const WEBHOOK_SCHEMES = ['shared-secret-header', 'hmac-sha256'] as const;
export type WebhookScheme = (typeof WEBHOOK_SCHEMES)[number];

/** Header names are matched case-insensitively (the ingress lower-cases request headers). */
const headerName = lazySchema(() => z.string().check(z.minLength(1), z.regex(/^[A-Za-z0-9-]+$/)));

export const machineMetricsWebhookConfigSchema = lazySchema(() =>
  z.object({
    /** How a Workflow webhook proves it is ours; see webhook.ts for both (assumed) schemes. */
    scheme: z._default(z.enum(WEBHOOK_SCHEMES), 'shared-secret-header'),
    /** `shared-secret-header`: the header carrying the Workflow "Secret" verbatim. */
    secretHeader: z._default(headerName, 'x-mm-webhook-secret'),
    /** `hmac-sha256`: the header carrying hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`). */
    signatureHeader: z._default(headerName, 'x-mm-signature'),
    /** `hmac-sha256`: the header carrying the signing time in unix seconds. */
    timestampHeader: z._default(headerName, 'x-mm-timestamp'),
    /** `hmac-sha256`: accepted clock skew / age of a delivery, in seconds. */
    toleranceSeconds: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(86_400)), 300),
  }),
);
export type MachineMetricsWebhookConfig = z.infer<typeof machineMetricsWebhookConfigSchema>;

export const machineMetricsConfigSchema = lazySchema(() =>
  z.object({
    /** Per tenant: standard, demo (`https://api-demo.machinemetrics.com`) or GovCloud hosts differ. */
    baseUrl: z._default(z.url({ protocol: /^https?$/ }), MACHINEMETRICS_DEFAULT_BASE_URL),
    /** Secrets Manager name of a JSON secret matching `machineMetricsSecretSchema`. */
    secretName: z.string().check(z.minLength(1)),
    webhook: z.optional(machineMetricsWebhookConfigSchema),
    /**
     * ASSUMPTION (named because the doc is silent): the most machine ids one report request carries
     * in `filter.machine`. api-doc.txt documents no pagination and no limit on filters, bodies or
     * response trees (reference §2.4, §7 #26: "response size is unbounded ... chunk requests"). The
     * client splits a longer filter into requests of this many machines and merges their answers, so
     * requests grow with ~machines/limit pages, and a tenant that turns out to allow less (or more)
     * changes one number. 500 UUIDs are a ~20 KB request body.
     */
    reportMachineLimit: z._default(
      z.number().check(z.int(), z.minimum(1), z.maximum(10_000)),
      REPORT_MACHINE_LIMIT,
    ),
  }),
);
export type MachineMetricsConfig = z.infer<typeof machineMetricsConfigSchema>;

/** The secret's JSON: the company API key (scope `reporting`) and the Workflow webhook secret. */
export const machineMetricsSecretSchema = lazySchema(() =>
  z.object({
    apiKey: z.string().check(z.minLength(1)),
    webhookSecret: z.optional(z.string().check(z.minLength(1))),
  }),
);
export type MachineMetricsSecret = z.infer<typeof machineMetricsSecretSchema>;

export const CONFIG_PATH = 'vendors.machinemetrics';

/** Validate `vendors.machinemetrics`; a ConfigError names the bad field's full path. */
export function parseMachineMetricsConfig(value: unknown): MachineMetricsConfig {
  if (value === undefined)
    throw new ConfigError(CONFIG_PATH, 'is missing (MachineMetrics is not configured)');
  return parseWith(machineMetricsConfigSchema, value, (p) =>
    p.path ? new ConfigError(`${CONFIG_PATH}.${p.path}`, p.message) : new ConfigError(CONFIG_PATH, p.message),
  );
}

/** The webhook settings with every default applied, also when `webhook` is absent from the config. */
export const webhookSettings = (config: MachineMetricsConfig): MachineMetricsWebhookConfig =>
  config.webhook ?? machineMetricsWebhookConfigSchema.parse({});
