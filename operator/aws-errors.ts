/**
 * AWS SDK failures as the operator says them: no credentials, credentials refused, access denied.
 * The SDK's own texts name a provider chain or an IAM action without saying what to do next.
 */
import { MillwrightError } from '../functions/core/errors.ts';

/** No credentials in the default provider chain (nor a region to use them in). */
export class AwsCredentialsError extends MillwrightError {}
/** The credentials work, but their policy does not allow what was asked. */
export class AwsAccessDeniedError extends MillwrightError {}

const NO_CREDENTIALS =
  'no AWS credentials found: set AWS_PROFILE (after `aws sso login` if it is an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

const nameOf = (error: unknown): string =>
  (error as { name?: unknown })?.name === undefined ? '' : String((error as { name: unknown }).name);

/**
 * `error` as an AwsCredentialsError or AwsAccessDeniedError when it is one of those (with `what`,
 * e.g. `describing stack Millwright`, in the message), else `error` itself.
 */
export function explainAwsError(error: unknown, what: string): unknown {
  const name = nameOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError') {
    return new AwsCredentialsError(`${what}: ${NO_CREDENTIALS}`, { cause: error });
  }
  if (/^Region is missing/i.test(message)) {
    return new AwsCredentialsError(`${what}: no AWS region: pass --region or set AWS_REGION`, {
      cause: error,
    });
  }
  if (
    /^(ExpiredToken|ExpiredTokenException|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch)$/.test(
      name,
    )
  ) {
    return new AwsCredentialsError(
      `${what}: AWS refused the credentials (${name}): refresh them (e.g. aws sso login) or check AWS_PROFILE`,
      { cause: error },
    );
  }
  if (/^AccessDenied/.test(name) || /not authorized to perform/.test(message)) {
    return new AwsAccessDeniedError(`${what}: access denied: ${message}`, { cause: error });
  }
  return error;
}
