import { describe, expect, it } from '@jest/globals';
import { connectDeepomatic } from '../../../functions/connectors/deepomatic/client.ts';
import { deepomaticBaseUrl, parseDeepomaticConfig } from '../../../functions/connectors/deepomatic/config.ts';
import { ConfigError } from '../../../functions/core/errors.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { testEnv } from '../../support/factories.ts';
import { SECRET_NAME } from './support.ts';

function configError(value: unknown): ConfigError {
  try {
    parseDeepomaticConfig(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('deepomatic config', () => {
  it('builds the EU host from the site id by default', () => {
    const config = parseDeepomaticConfig({ siteId: 'acme-0123456789abcdef', secretName: SECRET_NAME });
    expect(config.region).toBe('eu');
    expect(config.baseUrl).toBe('https://api.acme-0123456789abcdef.customers.deepomatic.com/v0.2');
  });

  it('builds the US host (customers.us1) for region us', () => {
    const config = parseDeepomaticConfig({ siteId: 'plant1', region: 'us', secretName: SECRET_NAME });
    expect(config.baseUrl).toBe('https://api.plant1.customers.us1.deepomatic.com/v0.2');
    expect(deepomaticBaseUrl('eu', 'plant1')).toBe('https://api.plant1.customers.deepomatic.com/v0.2');
  });

  it('lets baseUrl override the host (siteId then optional)', () => {
    const config = parseDeepomaticConfig({ baseUrl: 'http://127.0.0.1:9999/v0.2/', secretName: SECRET_NAME });
    expect(config.baseUrl).toBe('http://127.0.0.1:9999/v0.2/');
    const both = parseDeepomaticConfig({
      baseUrl: 'https://proxy.example/v0.2',
      siteId: 'x',
      secretName: 's',
    });
    expect(both.baseUrl).toBe('https://proxy.example/v0.2');
  });

  it('names the bad field under vendors.deepomatic', () => {
    expect(configError(undefined).path).toBe('vendors.deepomatic');
    expect(configError({ secretName: SECRET_NAME }).path).toBe('vendors.deepomatic.siteId');
    expect(configError({ secretName: SECRET_NAME }).message).toContain('required unless baseUrl is set');
    const upper = configError({ siteId: 'Plant_1', secretName: SECRET_NAME });
    expect(upper.path).toBe('vendors.deepomatic.siteId');
    expect(upper.message).toContain('hostname label');
    expect(configError({ siteId: 'a'.repeat(64), secretName: SECRET_NAME }).path).toBe(
      'vendors.deepomatic.siteId',
    );
    expect(configError({ siteId: 'a.b', secretName: SECRET_NAME }).path).toBe('vendors.deepomatic.siteId');
    expect(configError({ siteId: 'plant', region: 'ap', secretName: SECRET_NAME }).path).toBe(
      'vendors.deepomatic.region',
    );
    expect(configError({ siteId: 'plant', secretName: '' }).path).toBe('vendors.deepomatic.secretName');
    expect(configError({ siteId: 'plant', secretName: 's', timeoutMs: 10 }).path).toBe(
      'vendors.deepomatic.timeoutMs',
    );
    expect(configError({ baseUrl: 'ftp://x/v0.2', secretName: 's' }).path).toBe('vendors.deepomatic.baseUrl');
  });

  it('connectDeepomatic validates config at once but reads the secret only on the first call', async () => {
    const secrets = staticSecretSource({ [SECRET_NAME]: { apiKey: 'k-1234' } });
    const env = testEnv({} as StateStore, {
      vendors: { deepomatic: { siteId: 'plant', secretName: SECRET_NAME } },
      secrets,
    });
    const client = connectDeepomatic(env);
    expect(client.config.baseUrl).toBe('https://api.plant.customers.deepomatic.com/v0.2');
    expect(secrets.reads).toEqual([]);
    expect(() => connectDeepomatic(testEnv({} as StateStore))).toThrow(ConfigError);
  });

  it('names the secret field when the secret has no apiKey', async () => {
    const secrets = staticSecretSource({ [SECRET_NAME]: { key: 'wrong-field' } });
    const env = testEnv({} as StateStore, {
      vendors: { deepomatic: { baseUrl: 'http://127.0.0.1:9/v0.2', secretName: SECRET_NAME } },
      secrets,
    });
    const error = await connectDeepomatic(env)
      .getWorkOrder('x')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(`secret ${SECRET_NAME}.apiKey`);
    expect(secrets.reads).toEqual([SECRET_NAME]);
  });
});
