/**
 * A worker that dies between two writes: a StateStore (over the same real table) whose k-th write
 * to DynamoDB crashes the "process". `before`: the write never lands; `after`: it lands and the
 * answer is lost. From the crash on, every call of that store fails (the Lambda is gone), so the
 * attempt makes no further write; the retry (SQS redelivery) runs on the healthy store.
 * Counted at the client, so every write is seen, however a store method is built.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StateStore } from '../../../functions/core/state.ts';

export class WorkerCrash extends Error {
  constructor(readonly write: number) {
    super(`worker died at write ${write}`);
    this.name = 'WorkerCrash';
  }
}

const WRITES = new Set([
  'PutCommand',
  'UpdateCommand',
  'DeleteCommand',
  'BatchWriteCommand',
  'TransactWriteCommand',
]);

export type CrashWhen = 'before' | 'after';

export interface CrashingStore {
  store: StateStore;
  /** Writes seen so far (a clean run's count is its N). */
  writes(): number;
  crashed(): boolean;
  /** Names of the write commands in order (to say which one a failing k was). */
  log(): string[];
}

/** `at` = Infinity counts writes without crashing. */
export function crashingStore(real: StateStore, at: number, when: CrashWhen = 'before'): CrashingStore {
  let count = 0;
  let dead = false;
  const names: string[] = [];
  const store = real.withClient((client) => {
    const wrapped = Object.create(client) as DynamoDBDocumentClient;
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    (wrapped as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
      if (dead) throw new WorkerCrash(count);
      const name = (command as object).constructor.name;
      if (!WRITES.has(name)) return send(command);
      count++;
      names.push(name);
      if (count !== at) return send(command);
      dead = true;
      if (when === 'after') await send(command);
      throw new WorkerCrash(count);
    };
    return wrapped;
  });
  return { store, writes: () => count, crashed: () => dead, log: () => [...names] };
}
