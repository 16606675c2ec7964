import { describe, expect, it } from '@jest/globals';
import {
  machineMetricsSecretSchema,
  parseMachineMetricsConfig,
  webhookSettings,
} from '../../../functions/connectors/machinemetrics/config.ts';
import { ConfigError } from '../../../functions/core/errors.ts';

const configError = (value: unknown): ConfigError => {
  try {
    parseMachineMetricsConfig(value);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('machineMetricsConfigSchema', () => {
  it('applies the default base URL and webhook settings', () => {
    const config = parseMachineMetricsConfig({ secretName: 'millwright/machinemetrics', webhook: {} });
    expect(config).toEqual({
      baseUrl: 'https://api.machinemetrics.com',
      secretName: 'millwright/machinemetrics',
      reportMachineLimit: 500,
      webhook: {
        scheme: 'shared-secret-header',
        secretHeader: 'x-mm-webhook-secret',
        signatureHeader: 'x-mm-signature',
        timestampHeader: 'x-mm-timestamp',
        toleranceSeconds: 300,
      },
    });
  });

  it('gives the webhook defaults when the config has no webhook section', () => {
    const config = parseMachineMetricsConfig({ secretName: 's' });
    expect(config.webhook).toBeUndefined();
    expect(webhookSettings(config).scheme).toBe('shared-secret-header');
  });

  it('names the full path of a bad field', () => {
    expect(configError({ secretName: 's', baseUrl: 'ftp://mm' }).path).toBe('vendors.machinemetrics.baseUrl');
    expect(configError({ secretName: 's', webhook: { scheme: 'basic' } }).path).toBe(
      'vendors.machinemetrics.webhook.scheme',
    );
    expect(configError({ secretName: 's', webhook: { toleranceSeconds: 2.5 } }).path).toBe(
      'vendors.machinemetrics.webhook.toleranceSeconds',
    );
    expect(configError({ secretName: '' }).path).toBe('vendors.machinemetrics.secretName');
    expect(configError(undefined).path).toBe('vendors.machinemetrics');
  });
});

describe('machineMetricsSecretSchema', () => {
  it('requires a non-empty apiKey and allows a missing webhookSecret', () => {
    expect(machineMetricsSecretSchema.safeParse({ apiKey: '' }).success).toBe(false);
    expect(machineMetricsSecretSchema.parse({ apiKey: 'k' })).toEqual({ apiKey: 'k' });
  });
});
