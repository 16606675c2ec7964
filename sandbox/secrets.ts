/**
 * A loopback stand-in for Secrets Manager's GetSecretValue, backed by a local JSON file
 * (`{ "<secret name>": { ...secret JSON... } }`). The runtime reaches it through the real SDK path
 * (Powertools Parameters) via AWS_ENDPOINT_URL_SECRETS_MANAGER. The file is git-ignored; a
 * template with sandbox-only values is committed.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJsonFile } from '../functions/config/json-file.ts';
import { connectors } from '../functions/connectors/index.ts';
import { ConfigError } from '../functions/core/errors.ts';

export interface LocalSecrets {
  endpoint: string;
  /** Replace or add a secret at run time (rotation in tests). */
  set(name: string, value: unknown): void;
  /** GetSecretValue calls answered so far (the cost benchmark counts them). */
  requests(): number;
  close(): Promise<void>;
}

/**
 * Every connector's sandbox secret (its manifest's `simulator.sandboxSecret`), under the secret
 * name the config's `vendors.<id>.secretName` gives it (default `millwright/<id>`). `npm start`
 * creates sandbox/secrets.local.json from it; tests and the demo use it as is.
 */
export function sandboxSecrets(
  vendors: Readonly<Record<string, { secretName?: unknown } | undefined>> = {},
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    connectors.map((c) => {
      const name = vendors[c.id]?.secretName;
      return [
        typeof name === 'string' && name !== '' ? name : `millwright/${c.id}`,
        structuredClone(c.simulator.sandboxSecret) as Record<string, unknown>,
      ];
    }),
  );
}

/** `{ "<secret name>": { ... } }`; a syntax error names the file, line and column. */
export function readSecretsFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  const secrets = readJsonFile(path, 'secrets');
  if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) {
    throw new ConfigError('', 'expected an object of secret name -> secret', {
      what: 'secrets',
      source: path,
    });
  }
  return secrets as Record<string, unknown>;
}

export async function startLocalSecrets(
  initial: Record<string, unknown>,
  options: { port?: number } = {},
): Promise<LocalSecrets> {
  const secrets = new Map(Object.entries(initial));
  let requestCount = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    requestCount++;
    if (target !== 'secretsmanager.GetSecretValue') {
      send(400, { __type: 'InvalidRequestException', message: `${target} is not supported by the sandbox` });
      return;
    }
    let secretId = '';
    try {
      secretId = String(
        (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: string }).SecretId ?? '',
      );
    } catch {
      send(400, { __type: 'InvalidRequestException', message: 'body is not JSON' });
      return;
    }
    if (!secrets.has(secretId)) {
      send(400, {
        __type: 'ResourceNotFoundException',
        message: `Secrets Manager can't find the specified secret (${secretId}); add it to sandbox/secrets.local.json`,
      });
      return;
    }
    send(200, {
      ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`,
      Name: secretId,
      SecretString: JSON.stringify(secrets.get(secretId)),
      VersionId: 'sandbox',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 0,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    set: (name, value) => secrets.set(name, value),
    requests: () => requestCount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
