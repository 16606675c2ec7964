/**
 * Click Maint settings from the deployment config (`vendors['click-maint']`) and the shape of its
 * secret. Config carries the secret *name* only; the API key lives in Secrets Manager.
 *
 * One API key can see several entities (locations / business units); every call but
 * `GET /entities` names one in `X-Entity-Id`. `entities` pins the list; when absent, the client
 * discovers it with `GET /entities` (once per container).
 *
 * The rate limit is per IP (reference §2.1: 300 requests per 5 minutes in one published copy, 1000
 * in another; we design for 300). Every call takes a token from the shared DynamoDB bucket of
 * functions/core/rate-limit.ts, so all workers of one egress share one budget.
 */
import * as z from 'zod/mini';
import { ConfigError } from '../../core/errors.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';

export const CLICK_MAINT_DEFAULT_BASE_URL = 'https://app.clickmaint.com/api/v1';
/** Accounts in the Canadian region use the `.ca` host (reference §1). */
export const CLICK_MAINT_CANADA_BASE_URL = 'https://app.clickmaint.ca/api/v1';
/** How the parts poller reads "changed since" (see parts-poll-source.ts). */
export const UPDATED_AT_FILTER_MODES = ['auto', 'ransack', 'off'] as const;
export type UpdatedAtFilterMode = (typeof UPDATED_AT_FILTER_MODES)[number];

const positiveInt = () => z.int().check(z.gte(1));

export const clickMaintRateLimitSchema = lazySchema(() =>
  z
    .object({
      /** Requests allowed per window and IP. */
      limit: z._default(positiveInt(), 300),
      /** Window length in seconds. */
      windowSeconds: z._default(z.number().check(z.gt(0)), 300),
      /** Bucket capacity (burst); refill is (limit - burst) / windowSeconds per second. */
      burst: z._default(positiveInt(), 5),
      /** Stop when `X-RateLimit-Remaining` <= reserve, until the vendor's reset. */
      reserve: z._default(z.int().check(z.gte(0)), 2),
    })
    .check(
      z.refine((r) => r.limit >= 2 && r.burst < r.limit, {
        message: 'burst must be below limit (and limit >= 2)',
        path: ['burst'],
      }),
    ),
);
export type ClickMaintRateLimit = z.output<typeof clickMaintRateLimitSchema>;

export const clickMaintConfigSchema = lazySchema(() =>
  z.object({
    /** `https://app.clickmaint.com/api/v1`, or the `.ca` host for Canadian accounts. */
    baseUrl: z._default(z.url({ protocol: /^https?$/ }), CLICK_MAINT_DEFAULT_BASE_URL),
    /** Secrets Manager name of a JSON secret matching `clickMaintSecretSchema`. */
    secretName: z.string().check(z.minLength(1)),
    /** Entity ids to work in; absent = every entity `GET /entities` lists. */
    entities: z.optional(z.array(z.int().check(z.gte(1))).check(z.minLength(1))),
    /** Per-attempt HTTP timeout (the HttpClient default, 10 s, when absent). */
    timeoutMs: z.optional(z.int().check(z.gte(50), z.lte(120_000))),
    /** `per_page` of list calls (the API's default is 50; no maximum is documented, 100 is ours). */
    perPage: z._default(z.int().check(z.gte(1), z.lte(100)), 100),
    rateLimit: z._default(clickMaintRateLimitSchema, () => clickMaintRateLimitSchema.parse({})),
    /**
     * `ransack`: `filter[updated_at_gteq]` (undocumented, Ransack convention); `off`: the
     * documented-only fallback (sort by updated_at desc, stop at the watermark); `auto`: try ransack,
     * fall back when the API does not echo the filter in `meta.filter`.
     */
    updatedAtFilter: z._default(z.enum(UPDATED_AT_FILTER_MODES), 'auto'),
  }),
);
/** Validated config (defaults applied). */
export type ClickMaintConfig = z.output<typeof clickMaintConfigSchema>;
/** Config as written by an operator (defaults optional). */
export type ClickMaintConfigInput = z.input<typeof clickMaintConfigSchema>;

export const clickMaintSecretSchema = lazySchema(() =>
  z.object({
    /** Admin Settings > API Keys; acts as a user (reference §1). */
    apiKey: z.string().check(z.minLength(1)),
  }),
);
export type ClickMaintSecret = z.output<typeof clickMaintSecretSchema>;

export const CONFIG_PATH = 'vendors.click-maint';

/** Validate `env.vendors['click-maint']`; a bad value throws ConfigError naming `vendors.click-maint.<field>`. */
export function parseClickMaintConfig(value: unknown): ClickMaintConfig {
  if (value === undefined || value === null) {
    throw new ConfigError(CONFIG_PATH, 'missing: the Click Maint vendor settings are required');
  }
  return parseWith(
    clickMaintConfigSchema,
    value,
    (p) => new ConfigError(p.path ? `${CONFIG_PATH}.${p.path}` : CONFIG_PATH, p.message),
  );
}
