/**
 * Mobility Work settings from the deployment config (`vendors.mobility-work`) and the shape of its
 * secret. Config carries the secret *name* only; the API key and the webhook signing secrets live in
 * Secrets Manager.
 */
import * as z from 'zod/mini';
import { ConfigError } from '../../core/errors.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';
import { DEFAULT_MW_SIGNATURE_SCHEME, MW_SIGNATURE_SCHEME_NAMES } from './signature.ts';

export const MOBILITY_WORK_DEFAULT_BASE_URL = 'https://api.mobility-work.com';
export const MOBILITY_WORK_DEFAULT_USER_AGENT = 'Millwright (+https://github.com/millwright)';
/** Every bulk endpoint takes at most 10.000 (ten thousand) items per request (reference §2.3). */
export const MOBILITY_WORK_MAX_BULK = 10_000;
/**
 * The body of `POST /spare-parts/movements/bulk`. api-doc.txt documents each item as a
 * SparePartIdentifier plus a *required object* (the Bulk Stock Movement request schema), so the
 * default is `nested`: `{id, movement: {type: 'inventory', quantity}}`. The doc lost that object's
 * name and fields: `movement` (the key MW's own stock webhooks use), `type: 'inventory'` (a recount,
 * MW's word for an absolute set) and `quantity` are a NAMED ASSUMPTION, see MW_STOCK_MOVEMENT.
 * `flat` sends `{id, quantity}`, the shape of the deprecated `PUT /spare-parts/stock`: an explicit
 * opt-in only, for a network whose bulk endpoint is proven to take it.
 */
export const STOCK_MOVEMENT_FORMATS = ['nested', 'flat'] as const;
export type StockMovementFormat = (typeof STOCK_MOVEMENT_FORMATS)[number];
export const DEFAULT_STOCK_MOVEMENT_FORMAT: StockMovementFormat = 'nested';
/**
 * NAMED ASSUMPTION (one place, shared with the simulator): the key and `type` of the required
 * movement object. The doc's webhook samples carry a `movement` key on the stock events; MW's help
 * center calls a recount an "Inventory" movement.
 */
export const MW_STOCK_MOVEMENT = { key: 'movement', type: 'inventory' } as const;

/**
 * NAMED ASSUMPTION: `POST /spare-parts` marks two *objects* required whose names the doc lost
 * (api-doc.txt, Create spare part(s): "required object" twice after `description`). The endpoint's
 * text is about the unit price, and the attributes endpoint's examples name its object `unitPrice`
 * (`{amount, currency}`); the second is taken to be the storage `location` the part is stocked in
 * (`{locationName}`, the relocate endpoint's word). Shared with the simulator, which requires both.
 */
export const MW_SPARE_PART_REQUIRED_OBJECTS = ['unitPrice', 'location'] as const;

/**
 * The identifier types each task field takes (api-doc.txt:996-1005: "For assignees you can mix both
 * native and email identifiers. For tags ... native and code. For equipment ... native and
 * external"); `externalReference` is the doc's generic object form (api-doc.txt:129-136), which the
 * simulator takes for equipment too. Another type is a 400, so it is refused before sending.
 */
export const MW_TYPED_ID_TYPES = {
  equipment: ['native', 'external', 'externalReference'],
  assignees: ['native', 'email'],
  tags: ['native', 'code'],
} as const;

export const mobilityWorkWebhookConfigSchema = lazySchema(() =>
  z.object({
    /** Which signed string `X-MW-Signature` covers (undocumented; see signature.ts). */
    signatureScheme: z._default(z.enum(MW_SIGNATURE_SCHEME_NAMES), DEFAULT_MW_SIGNATURE_SCHEME),
    /** Accepted |receivedAt - t|; nonces are remembered for twice this long. */
    toleranceSeconds: z._default(z.int().check(z.gte(30), z.lte(3600)), 300),
    /** Refuse unsigned deliveries (MW signs only when a secret was set on the subscription). */
    requireSignature: z._default(z.boolean(), true),
  }),
);
export type MobilityWorkWebhookConfig = z.output<typeof mobilityWorkWebhookConfigSchema>;

export const mobilityWorkConfigSchema = lazySchema(() =>
  z.object({
    baseUrl: z._default(z.url({ protocol: /^https?$/ }), MOBILITY_WORK_DEFAULT_BASE_URL),
    /** Secrets Manager name of a JSON secret matching `mobilityWorkSecretSchema`. */
    secretName: z.string().check(z.minLength(1)),
    /** The network (tenant) this deployment serves; webhooks of another network are ignored. */
    networkId: z.optional(z.guid()),
    /** Per-attempt HTTP timeout (the HttpClient default, 10 s, when absent). */
    timeoutMs: z.optional(z.int().check(z.gte(50), z.lte(120_000))),
    /**
     * Optional but "highly recommended" by MW: "a User-Agent header which includes your network name"
     * (api-doc). The default cannot name the network (known only from a call), so set it per tenant.
     */
    userAgent: z._default(z.string().check(z.minLength(1)), MOBILITY_WORK_DEFAULT_USER_AGENT),
    /** Items per bulk request; larger inputs are split into several requests. */
    bulkLimit: z._default(z.int().check(z.gte(1), z.lte(MOBILITY_WORK_MAX_BULK)), MOBILITY_WORK_MAX_BULK),
    /** `nested` (documented shape, default) or `flat` (deprecated PUT shape, opt-in): see above. */
    stockMovementFormat: z._default(z.enum(STOCK_MOVEMENT_FORMATS), DEFAULT_STOCK_MOVEMENT_FORMAT),
    // A function default so the webhook defaults are written once (in the schema above).
    webhook: z._default(mobilityWorkWebhookConfigSchema, () => mobilityWorkWebhookConfigSchema.parse({})),
  }),
);
/** Validated config (defaults applied). */
export type MobilityWorkConfig = z.output<typeof mobilityWorkConfigSchema>;
/** Config as written by an operator (defaults optional). */
export type MobilityWorkConfigInput = z.input<typeof mobilityWorkConfigSchema>;

export const mobilityWorkSecretSchema = lazySchema(() =>
  z.object({
    apiKey: z.string().check(z.minLength(1)),
    /** One per event subscription (a secret is set per webhook in MW); any of them may match. */
    webhookSecrets: z.optional(z.array(z.string().check(z.minLength(8)))),
  }),
);
export type MobilityWorkSecret = z.output<typeof mobilityWorkSecretSchema>;

export const CONFIG_PATH = 'vendors.mobility-work';

/** Validate `env.vendors['mobility-work']`; a bad value throws ConfigError naming `vendors.mobility-work.<field>`. */
export function parseMobilityWorkConfig(value: unknown): MobilityWorkConfig {
  if (value === undefined || value === null) {
    throw new ConfigError(CONFIG_PATH, 'missing: the Mobility Work vendor settings are required');
  }
  return parseWith(
    mobilityWorkConfigSchema,
    value,
    (p) => new ConfigError(p.path ? `${CONFIG_PATH}.${p.path}` : CONFIG_PATH, p.message),
  );
}
