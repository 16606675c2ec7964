/** A real StateStore on an in-memory dynalite, one per test file. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateStore } from '../../functions/core/state.ts';
import { ensureStateTable, type LocalDynamo, startLocalDynamo } from '../../sandbox/dynamo.ts';

export interface TestState {
  dynamo: LocalDynamo;
  store(now?: () => Date): StateStore;
  close(): Promise<void>;
}

let counter = 0;

export async function startTestState(): Promise<TestState> {
  const dynamo = await startLocalDynamo();
  const tableName = `test-${process.pid}-${counter++}`;
  await ensureStateTable(dynamo.client, tableName);
  const doc = DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    dynamo,
    store: (now) => new StateStore({ tableName, client: doc, now }),
    close: () => dynamo.close(),
  };
}
