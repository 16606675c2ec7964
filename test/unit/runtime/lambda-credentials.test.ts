/** The env-only credential provider every Lambda bundle uses in place of the SDK's default chain. */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  credentialsTreatedAsExpired,
  credentialsWillNeedRefresh,
  defaultProvider,
  MissingCredentialsError,
} from '../../../functions/runtime/lambda/credentials.ts';

const KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION'];
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));

afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('Lambda credentials', () => {
  it("reads the role's credentials Lambda puts in the environment", async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.AWS_SESSION_TOKEN = 'token';
    delete process.env.AWS_CREDENTIAL_EXPIRATION;
    await expect(defaultProvider({})()).resolves.toEqual({
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
  });

  it('fails with a named error when they are missing', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    await expect(defaultProvider()()).rejects.toBeInstanceOf(MissingCredentialsError);
  });

  it('an expiry makes the SDK refresh them five minutes before it', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.AWS_CREDENTIAL_EXPIRATION = new Date(Date.now() + 60_000).toISOString();
    const credentials = await defaultProvider()();
    expect(credentialsWillNeedRefresh(credentials)).toBe(true);
    expect(credentialsTreatedAsExpired(credentials)).toBe(true);
    expect(
      credentialsTreatedAsExpired({ ...credentials, expiration: new Date(Date.now() + 3_600_000) }),
    ).toBe(false);
  });
});
