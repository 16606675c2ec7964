/**
 * Secrets come from Secrets Manager through Powertools Parameters (cached with a TTL; `refresh`
 * bypasses the cache, e.g. after a 401). Values are never logged and never put in env vars: config
 * and env carry secret *names* only. In the sandbox the same code reads a local Secrets Manager
 * endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER) backed by a git-ignored file.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type * as z from 'zod/mini';
import { ConfigError, MillwrightError } from './errors.ts';
import { parseWith } from './schema.ts';

export interface SecretSource {
  getJson(name: string, options?: { refresh?: boolean }): Promise<unknown>;
}

export class SecretUnavailableError extends MillwrightError {
  constructor(
    readonly secretName: string,
    options: { cause?: unknown; reason?: string } = {},
  ) {
    super(`secret ${secretName} could not be read${options.reason ? `: ${options.reason}` : ''}`, {
      cause: options.cause,
      retryable: true,
    });
  }
}

/**
 * A value that did not parse as JSON: Node's parser quotes the start of the text it refused
 * (`"sk_live_ab"... is not valid JSON`) and Powertools copies that into its TransformParameterError,
 * so neither may become our cause. Still retryable: the operator can fix the secret meanwhile.
 */
const notJson = (error: unknown): boolean =>
  error instanceof SyntaxError || (error as { name?: unknown })?.name === 'TransformParameterError';

export function secretsManagerSource(
  options: { maxAgeSeconds?: number; clientConfig?: SecretsManagerClientConfig } = {},
): SecretSource {
  const maxAge = options.maxAgeSeconds ?? 300;
  // Created lazily so a cold start does no I/O and no client work until a secret is needed.
  let provider: SecretsProvider | undefined;
  return {
    async getJson(name, opts = {}) {
      try {
        provider ??= new SecretsProvider(
          options.clientConfig ? { clientConfig: options.clientConfig } : undefined,
        );
        const value = await provider.get(name, {
          maxAge,
          transform: 'json',
          forceFetch: opts.refresh ?? false,
        });
        if (value === undefined) throw new SecretUnavailableError(name);
        return value;
      } catch (error) {
        if (error instanceof MillwrightError) throw error;
        if (notJson(error)) {
          throw new SecretUnavailableError(name, {
            reason: 'its value is not JSON (a JSON object of named fields is expected; value not shown)',
          });
        }
        // The SDK's own errors (access denied, not found, throttled) name the request, not the
        // value: kept as the cause.
        throw new SecretUnavailableError(name, { cause: error });
      }
    },
  };
}

/** In-memory secrets for tests. Counts reads so tests can prove caching and refresh. */
export function staticSecretSource(values: Record<string, unknown>): SecretSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async getJson(name) {
      reads.push(name);
      if (!(name in values)) throw new SecretUnavailableError(name);
      return values[name];
    },
  };
}

/** Read a secret and validate its shape; errors name the secret and field, never the value. */
export async function readSecret<S extends z.ZodMiniType>(
  source: SecretSource,
  name: string,
  schema: S,
  options?: { refresh?: boolean },
): Promise<z.infer<S>> {
  const value = await source.getJson(name, options);
  return parseWith(schema, value, (p) => new ConfigError(`secret ${name}.${p.path}`, p.message));
}
