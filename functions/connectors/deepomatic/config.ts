/**
 * Deepomatic Engage settings from the deployment config (`vendors.deepomatic`) and the shape of its
 * secret. Config carries the secret *name* only; the API key lives in Secrets Manager.
 *
 * The host is built from `region` and `siteId` (reference §1.1): `{siteId}` is a hostname label (the
 * "20 first digits" shown under Deployments › Credentials), NOT the `site_id` UUID in responses.
 * `baseUrl` overrides it (the sandbox points it at the simulator). The API version is in the path.
 */
import * as z from 'zod/mini';
import { ConfigError } from '../../core/errors.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';

export const DEEPOMATIC_REGIONS = ['eu', 'us'] as const;
export type DeepomaticRegion = (typeof DEEPOMATIC_REGIONS)[number];
/** A hostname label, as the contract pins it. */
export const DEEPOMATIC_SITE_ID_PATTERN = /^[a-z0-9-]{1,63}$/;
export const DEEPOMATIC_API_VERSION = 'v0.2';

/** `https://api.{siteId}.customers.deepomatic.com/v0.2` (eu) or `...customers.us1.deepomatic.com/v0.2` (us). */
export function deepomaticBaseUrl(region: DeepomaticRegion, siteId: string): string {
  const zone = region === 'us' ? 'customers.us1' : 'customers';
  return `https://api.${siteId}.${zone}.deepomatic.com/${DEEPOMATIC_API_VERSION}`;
}

export const deepomaticConfigSchema = lazySchema(() =>
  z
    .object({
      /** Overrides the host built from region + siteId; include the version path (`.../v0.2`). */
      baseUrl: z.optional(z.url({ protocol: /^https?$/ })),
      region: z._default(z.enum(DEEPOMATIC_REGIONS), 'eu'),
      /** Required unless `baseUrl` is set. */
      siteId: z.optional(
        z.string().check(
          z.refine((s) => DEEPOMATIC_SITE_ID_PATTERN.test(s), {
            message: 'must be a hostname label: 1-63 characters of a-z, 0-9 and -',
          }),
        ),
      ),
      /** Secrets Manager name of a JSON secret matching `deepomaticSecretSchema`. */
      secretName: z.string().check(z.minLength(1)),
      /** Per-attempt HTTP timeout (the HttpClient default, 10 s, when absent). The sandbox sets it. */
      timeoutMs: z.optional(z.int().check(z.gte(50), z.lte(120_000))),
    })
    .check(
      z.refine((c) => c.baseUrl !== undefined || c.siteId !== undefined, {
        message: 'required unless baseUrl is set (the hostname label of the Deepomatic site)',
        path: ['siteId'],
      }),
    ),
);
/** Config as written by an operator (defaults optional). */
export type DeepomaticConfigInput = z.input<typeof deepomaticConfigSchema>;
/** Validated config with defaults applied and `baseUrl` resolved. */
export type DeepomaticConfig = Omit<z.output<typeof deepomaticConfigSchema>, 'baseUrl'> & { baseUrl: string };

export const deepomaticSecretSchema = lazySchema(() =>
  z.object({
    /** A dedicated service user's key (it carries that user's privileges, reference §6). */
    apiKey: z.string().check(z.minLength(1)),
  }),
);
export type DeepomaticSecret = z.output<typeof deepomaticSecretSchema>;

export const DEEPOMATIC_CONFIG_PATH = 'vendors.deepomatic';

/** Validate `env.vendors.deepomatic`; a bad value throws ConfigError naming `vendors.deepomatic.<field>`. */
export function parseDeepomaticConfig(value: unknown): DeepomaticConfig {
  if (value === undefined || value === null) {
    throw new ConfigError(DEEPOMATIC_CONFIG_PATH, 'missing: the Deepomatic vendor settings are required');
  }
  const config = parseWith(
    deepomaticConfigSchema,
    value,
    (p) =>
      new ConfigError(p.path ? `${DEEPOMATIC_CONFIG_PATH}.${p.path}` : DEEPOMATIC_CONFIG_PATH, p.message),
  );
  // The refinement guarantees one of the two.
  const baseUrl = config.baseUrl ?? deepomaticBaseUrl(config.region, config.siteId as string);
  return { ...config, baseUrl };
}
