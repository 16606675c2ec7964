/**
 * UpKeep vendor settings (from the deployment config, `vendors.upkeep`) and the shape of its secret.
 * Config carries the secret *name* only; the secret holds the integration user's credentials and
 * the webhook URL token (UpKeep signs nothing, so the token in the URL is the only proof).
 */
import * as z from 'zod/mini';
import { ConfigError } from '../../core/errors.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';

export const UPKEEP_DEFAULT_BASE_URL = 'https://api.onupkeep.com/api/v2';
/** The current API version (reference §1.2); sent on every call so an account default cannot drift. */
export const UPKEEP_DEFAULT_API_VERSION = '2022-09-14';

export const upkeepConfigSchema = lazySchema(() =>
  z.object({
    baseUrl: z._default(z.url({ protocol: /^https?$/ }), UPKEEP_DEFAULT_BASE_URL),
    /** Secrets Manager name of a JSON secret matching `upkeepSecretSchema`. */
    secretName: z.string().check(z.minLength(1)),
    /** Bare date, e.g. `2022-09-14` (the doc's example quotes it; the quotes are not part of it). */
    apiVersion: z._default(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)), UPKEEP_DEFAULT_API_VERSION),
    /** Log in again this long before the session's `expiresAt`. */
    tokenRefreshMarginSeconds: z._default(z.number().check(z.nonnegative()), 3600),
    /** Per-attempt HTTP timeout (the HttpClient default, 10 s, when absent). The sandbox sets it. */
    timeoutMs: z.optional(z.int().check(z.gte(50), z.lte(120_000))),
  }),
);
/** Validated config (defaults applied). */
export type UpKeepConfig = z.output<typeof upkeepConfigSchema>;
/** Config as written by an operator (defaults optional). */
export type UpKeepConfigInput = z.input<typeof upkeepConfigSchema>;

export const upkeepSecretSchema = lazySchema(() =>
  z.object({
    /** A dedicated, integration-only ADMIN user (reference §1.3). */
    email: z.string().check(z.minLength(1)),
    password: z.string().check(z.minLength(1)),
    /** The `{token}` of the webhook URL registered at UpKeep; at least 32 characters when present. */
    webhookToken: z.optional(z.string().check(z.minLength(32))),
  }),
);
export type UpKeepSecret = z.output<typeof upkeepSecretSchema>;

/** Validate `env.vendors.upkeep`; a bad value throws ConfigError naming `vendors.upkeep.<field>`. */
export function parseUpKeepConfig(value: unknown): UpKeepConfig {
  if (value === undefined || value === null) {
    throw new ConfigError('vendors.upkeep', 'missing: the UpKeep vendor settings are required');
  }
  return parseWith(
    upkeepConfigSchema,
    value,
    (p) => new ConfigError(p.path ? `vendors.upkeep.${p.path}` : 'vendors.upkeep', p.message),
  );
}
