/**
 * Stands in for `@aws-sdk/credential-provider-node` inside every Lambda bundle (an esbuild alias,
 * see BUNDLE in lib/constructs/millwright-function.ts). Lambda always hands a function its role's
 * credentials in the environment; the SDK's default chain would also bundle SSO, INI, process,
 * web-identity, IMDS/ECS and the STS/SSO clients they call, which a function never reaches but
 * parses at every cold start (about 45-60 ms of init on this machine). Exports match the package's.
 */
/** The shape the SDK expects (`AwsCredentialIdentity`), declared here to need no extra package. */
interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** No credentials in the environment: the function runs outside Lambda with nothing configured. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
}

/** The SDK calls this with the client config; the provider reads the variables Lambda sets. */
export const defaultProvider =
  (_init: unknown = {}) =>
  async (): Promise<Credentials> => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new MissingCredentialsError(
        'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (a Lambda function always has them)',
      );
    }
    const sessionToken = process.env.AWS_SESSION_TOKEN;
    const expiry = process.env.AWS_CREDENTIAL_EXPIRATION;
    return {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiry ? { expiration: new Date(expiry) } : {}),
    };
  };

export const credentialsWillNeedRefresh = (credentials?: Credentials): boolean =>
  credentials?.expiration !== undefined;

export const credentialsTreatedAsExpired = (credentials?: Credentials): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
