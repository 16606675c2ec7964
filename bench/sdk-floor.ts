/**
 * The init floor of any Millwright function that keeps AWS SDK v3 (bench/bundles.ts bundles and
 * times it beside the real functions): only the DynamoDB document client every function uses for
 * the state table, built and constructed exactly as core/state.ts does, and nothing of ours.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export const handler = async (key: { pk: string; sk: string }) => {
  const found = await db.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: key }));
  if (!found.Item) await db.send(new PutCommand({ TableName: process.env.TABLE_NAME, Item: key }));
  return found.Item;
};
