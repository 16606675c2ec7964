/**
 * Embedded DynamoDB-compatible engine (dynalite, pure JS) on loopback, plus the table the stack
 * creates. Used by the sandbox (persisted in <data folder>/dynamodb, see data-dir.ts) and by
 * integration tests (in memory). DynamoDB's key and item size limits, which dynalite counts in
 * characters rather than UTF-8 bytes, are enforced in front of it (aws-limits.ts).
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { dynamoLimits, enforceLimits, type KeySchemaOf } from './aws-limits.ts';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/** Start dynalite on 127.0.0.1 (port 0 = random). `path` persists data; omit for in-memory. */
export async function startLocalDynamo(options: { port?: number; path?: string } = {}): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: options.path });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  // Key attribute names per table, read once from the engine itself (DescribeTable is not checked).
  const schemas = new Map<string, { hash: string; range?: string }>();
  const keySchemaOf: KeySchemaOf = async (table) => {
    const known = schemas.get(table);
    if (known) return known;
    const out = await client.send(new DescribeTableCommand({ TableName: table })).catch(() => undefined);
    const keys = out?.Table?.KeySchema ?? [];
    const hash = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
    if (!hash) return undefined;
    const schema = { hash, range: keys.find((k) => k.KeyType === 'RANGE')?.AttributeName };
    schemas.set(table, schema);
    return schema;
  };
  enforceLimits(server, dynamoLimits(keySchemaOf));
  return {
    endpoint,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Create the state table (same key schema as lib/constructs/state-table.ts) unless it exists. */
export async function ensureStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
}
