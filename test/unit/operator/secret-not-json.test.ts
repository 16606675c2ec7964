/**
 * `secrets generate-webhook` reads the vendor secret before adding a field to it. When that secret
 * holds plain text, the refusal names the secret and quotes none of its value, in the message or in
 * a cause (Node's JSON parser quotes the start of what it refused). Nothing is written.
 */
import { inspect } from 'node:util';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { generateWebhookSecret, WebhookSecretError } from '../../../operator/secrets.ts';
import type { Target } from '../../../operator/target.ts';

const sm = mockClient(SecretsManagerClient);
afterEach(() => {
  sm.reset();
});

const target = {
  kind: 'stack',
  label: 'stack Millwright (eu-west-1)',
  deployment: { vendors: { upkeep: { secretName: 'millwright/upkeep' } } },
} as unknown as Target;

describe('secrets generate-webhook over a secret that is not JSON', () => {
  it('refuses naming the secret, quoting none of the value, writing nothing', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'sk_live_abcdefSECRET123' });
    const error = await generateWebhookSecret(target, 'upkeep', {
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebhookSecretError);
    expect((error as Error).message).toMatch(/secret millwright\/upkeep is not JSON/);
    const shown = inspect(error, { depth: 10 });
    expect(shown).not.toContain('sk_l');
    expect(shown).not.toContain('SECRET');
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});
