/**
 * A secret stored as plain text (an API key pasted without its JSON object) fails to parse. Node's
 * JSON parser quotes the start of the text it refused ("sk_live_ab"...), and Powertools puts that
 * message in its TransformParameterError: neither may travel on in our error, its cause chain or
 * anything a logger would print from it. Real Secrets Manager source over aws-sdk-client-mock.
 */
import { inspect } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { causeChain } from '../../../functions/core/errors.ts';
import { SecretUnavailableError, secretsManagerSource } from '../../../functions/core/secrets.ts';

const sm = mockClient(SecretsManagerClient);
afterEach(() => {
  sm.reset();
});

const source = () =>
  secretsManagerSource({
    clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } },
  });

/** Everything of an error a log line or a run-log entry could show. */
const everything = (error: unknown) =>
  [
    inspect(error, { depth: 10 }),
    ...[...causeChain(error)].map((e) => `${e.name} ${e.message} ${e.stack}`),
  ].join('\n');

describe('a secret that is not JSON', () => {
  it.each([
    ['plain text', 'sk_live_abcdefSECRET123'],
    ['a short token', 'Zq9xW2vK'],
    ['JSON cut short', '{"apiKey":"sk_live_abcdefSECRET123"'],
  ])('%s: names the secret and says it is not JSON, quoting none of it', async (_label, text) => {
    sm.on(GetSecretValueCommand).resolves({ Name: 'millwright/upkeep', SecretString: text });
    const error = await source()
      .getJson('millwright/upkeep')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toMatch(/secret millwright\/upkeep .*not .*JSON/);
    const shown = everything(error);
    // Any 6 characters of the value in a row would be a leak (Node quotes about 10), but for the
    // JSON key, which is ours, not secret. Shorter pieces match stack traces by chance.
    for (let i = 0; i + 6 <= text.length; i++) {
      const piece = text.slice(i, i + 6);
      if ('{"apiKey":"'.includes(piece)) continue;
      expect(shown).not.toContain(piece);
    }
  });

  it('a JSON secret still reads', async () => {
    sm.on(GetSecretValueCommand).resolves({ Name: 'millwright/upkeep', SecretString: '{"apiKey":"k"}' });
    await expect(source().getJson('millwright/upkeep')).resolves.toEqual({ apiKey: 'k' });
  });
});
