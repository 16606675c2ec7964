/**
 * A loopback stand-in for Secrets Manager's GetSecretValue and PutSecretValue (what
 * `millwright secrets generate-webhook` writes with), backed by a local JSON file
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
import { writeFileAtomic } from './simulators/persistence.ts';

export interface LocalSecrets {
  endpoint: string;
  /** Replace or add a secret at run time (rotation in tests). */
  set(name: string, value: unknown): void;
  /** A secret's current value (the sandbox controls sign in to simulators with it). */
  get(name: string): unknown;
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
  const secrets = readJsonFile(path, 'secrets', { secret: true });
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
  options: {
    port?: number;
    /** Where PutSecretValue also writes (npm start's secrets file), so a restart keeps the value. */
    file?: string;
  } = {},
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
    const operation = target.replace(/^secretsmanager\./, '');
    if (operation !== 'GetSecretValue' && operation !== 'PutSecretValue') {
      send(400, { __type: 'InvalidRequestException', message: `${target} is not supported by the sandbox` });
      return;
    }
    let body: { SecretId?: unknown; SecretString?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      send(400, { __type: 'InvalidRequestException', message: 'body is not JSON' });
      return;
    }
    const secretId = String(body.SecretId ?? '');
    if (!secrets.has(secretId)) {
      send(400, {
        __type: 'ResourceNotFoundException',
        message: `Secrets Manager can't find the specified secret (${secretId}); add it to sandbox/secrets.local.json`,
      });
      return;
    }
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`;
    if (operation === 'PutSecretValue') {
      const value = parseSecretString(body.SecretString);
      if (value === undefined) {
        // The sandbox keeps JSON secrets only (every Millwright secret is a JSON object).
        send(400, { __type: 'InvalidParameterException', message: 'SecretString must be a JSON object' });
        return;
      }
      secrets.set(secretId, value);
      if (options.file) persist(options.file, secretId, value);
      send(200, {
        ARN: arn,
        Name: secretId,
        VersionId: `sandbox-${requestCount}`,
        VersionStages: ['AWSCURRENT'],
      });
      return;
    }
    send(200, {
      ARN: arn,
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
    get: (name) => secrets.get(name),
    requests: () => requestCount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseSecretString(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** One secret replaced in the secrets file, the others kept as they are on disk. */
function persist(file: string, name: string, value: Record<string, unknown>): void {
  const all = readSecretsFile(file);
  all[name] = value;
  writeFileAtomic(file, `${JSON.stringify(all, null, 2)}\n`);
}
