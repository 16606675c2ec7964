/**
 * The webhook credential a receiver checks deliveries with, read from the vendor's secret. The stack
 * deploys without it (a vendor often gives its signing secret only after the deployed URL is
 * subscribed), so a missing credential is a normal state, answered clearly and re-checked soon:
 *
 * - the secret cannot be read (not created yet, no access, throttled): 503 "not configured yet".
 *   Retryable: the vendor's retry succeeds once the secret exists, and nothing was acknowledged.
 *   The failure is remembered for RECHECK_SECONDS so a burst of deliveries is not a burst of
 *   GetSecretValue calls.
 * - the secret exists but has no webhook field: 401. Nothing can prove a delivery authentic, and an
 *   operator has to act (`millwright secrets generate-webhook`, or paste the vendor's secret).
 * - the cached secret (Secrets Manager values are cached for minutes) lacks the field or does not
 *   match: it is re-read, at most once per RECHECK_SECONDS per secret, so adding or rotating the
 *   credential works within seconds and without a redeploy, while bad requests cannot force a
 *   Secrets Manager call each.
 *
 * Errors and logs name the secret and the field, never a value.
 */
import type * as z from 'zod/mini';
import { MillwrightError } from './errors.ts';
import type { RuntimeEnv } from './flow.ts';
import { readSecret, type SecretSource, SecretUnavailableError } from './secrets.ts';

/** How soon a missing or mismatching credential is looked up again. */
export const RECHECK_SECONDS = 30;

export type NotConfiguredReason = 'secret-unavailable' | 'field-missing';

/** The vendor's webhook credential is not there (yet): 503 or 401, see the module comment. */
export class WebhookNotConfiguredError extends MillwrightError {
  readonly statusCode: 401 | 503;
  /** What the sender is told: no secret name, no field (those are for the log). */
  readonly publicMessage: string;
  constructor(
    readonly vendor: string,
    readonly secretName: string,
    readonly field: string,
    readonly reason: NotConfiguredReason,
    options: { cause?: unknown; generable?: boolean } = {},
  ) {
    const fix = options.generable
      ? `set it, or run: npx millwright secrets generate-webhook ${vendor}`
      : `set it to the value the vendor gives`;
    const unavailable = reason === 'secret-unavailable';
    super(
      unavailable
        ? `${vendor} webhook refused: secret ${secretName} cannot be read yet (create it with field ${field})`
        : `${vendor} webhook refused: secret ${secretName} has no ${field} (${fix})`,
      { cause: options.cause, retryable: unavailable },
    );
    this.statusCode = unavailable ? 503 : 401;
    this.publicMessage = unavailable
      ? `${vendor} webhooks are not configured yet; retry later`
      : `${vendor} webhooks have no credential configured`;
  }
}

export interface WebhookSecretSpec<S extends z.ZodMiniType, T> {
  vendor: string;
  secretName: string;
  schema: S;
  /** The field's name, for messages. */
  field: string;
  /** The credential in the secret; undefined (or empty) when not configured. */
  pick: (secret: z.infer<S>) => T | undefined;
  /** Millwright chooses this credential: `millwright secrets generate-webhook` can create it. */
  generable?: boolean;
}

export interface WebhookCredential<S extends z.ZodMiniType, T> {
  secret: z.infer<S>;
  value: T;
  /**
   * After a mismatch: the credential read again from Secrets Manager (it may have been rotated),
   * or undefined when it was re-read less than RECHECK_SECONDS ago or is unchanged.
   */
  reread(): Promise<T | undefined>;
}

interface Memo {
  /** When the secret was last read bypassing the cache (ms). */
  refreshedAt?: number;
  /** Until when a failed read is answered without reading again (ms). */
  unavailableUntil?: number;
  unavailableCause?: unknown;
}

// Per secret source (one per Lambda container), so tests with their own sources do not interfere.
const memos = new WeakMap<SecretSource, Map<string, Memo>>();

function memoOf(source: SecretSource, name: string): Memo {
  const byName = memos.get(source) ?? new Map<string, Memo>();
  memos.set(source, byName);
  const memo = byName.get(name) ?? {};
  byName.set(name, memo);
  return memo;
}

const isSet = (value: unknown): boolean =>
  value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);

/** The vendor's webhook credential, or WebhookNotConfiguredError (503 or 401). */
export async function webhookCredential<S extends z.ZodMiniType, T>(
  env: Pick<RuntimeEnv, 'secrets' | 'now'>,
  spec: WebhookSecretSpec<S, T>,
): Promise<WebhookCredential<S, T>> {
  const memo = memoOf(env.secrets, spec.secretName);
  const now = () => env.now().getTime();
  const recheckDue = () =>
    memo.refreshedAt === undefined || now() - memo.refreshedAt >= RECHECK_SECONDS * 1000;
  const notConfigured = (reason: NotConfiguredReason, cause?: unknown) =>
    new WebhookNotConfiguredError(spec.vendor, spec.secretName, spec.field, reason, {
      cause,
      generable: spec.generable ?? false,
    });

  const read = async (refresh: boolean): Promise<z.infer<S>> => {
    if (memo.unavailableUntil !== undefined && now() < memo.unavailableUntil) {
      throw notConfigured('secret-unavailable', memo.unavailableCause);
    }
    if (refresh) memo.refreshedAt = now();
    try {
      const secret = await readSecret(env.secrets, spec.secretName, spec.schema, { refresh });
      memo.unavailableUntil = undefined;
      memo.unavailableCause = undefined;
      return secret;
    } catch (error) {
      if (!(error instanceof SecretUnavailableError)) throw error;
      memo.unavailableUntil = now() + RECHECK_SECONDS * 1000;
      memo.unavailableCause = error.cause ?? error;
      throw notConfigured('secret-unavailable', memo.unavailableCause);
    }
  };

  let secret = await read(false);
  let value = spec.pick(secret);
  // The cached copy may predate the operator adding the field.
  if (!isSet(value) && recheckDue()) {
    secret = await read(true);
    value = spec.pick(secret);
  }
  if (value === undefined || !isSet(value)) throw notConfigured('field-missing');
  const current = value;
  return {
    secret,
    value: current,
    async reread() {
      if (!recheckDue()) return undefined;
      const fresh = spec.pick(await read(true));
      return fresh !== undefined && isSet(fresh) && JSON.stringify(fresh) !== JSON.stringify(current)
        ? fresh
        : undefined;
    },
  };
}
