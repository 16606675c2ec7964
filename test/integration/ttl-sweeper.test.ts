/** The sandbox's TTL sweeper on real dynalite: it deletes what DynamoDB's TTL would, and only that. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { ensureStateTable, type LocalDynamo, startLocalDynamo } from '../../sandbox/dynamo.ts';
import { startTtlSweeper } from '../../sandbox/ttl-sweeper.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const NOW = new Date('2026-12-01T00:00:00Z');
const nowSeconds = NOW.getTime() / 1000;

let dynamo: LocalDynamo;
let table = 0;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(() => dynamo.close());

async function freshTable(): Promise<string> {
  const name = `ttl-${table++}`;
  await ensureStateTable(dynamo.client, name);
  return name;
}

async function put(tableName: string, sk: string, ttl?: { N: string } | { S: string }) {
  await dynamo.client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { pk: { S: 'P' }, sk: { S: sk }, ...(ttl ? { ttl } : {}) },
    }),
  );
}

async function keys(tableName: string): Promise<string[]> {
  const out = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
  return (out.Items ?? []).map((i) => String(i.sk?.S)).sort();
}

/** Timers the test fires by hand. */
function manualTimers() {
  const runs: (() => void)[] = [];
  let cancelled = 0;
  return {
    timers: {
      repeat(run: () => void) {
        runs.push(run);
        return () => {
          cancelled++;
        };
      },
    },
    fire: () => {
      for (const run of runs) run();
    },
    cancelled: () => cancelled,
  };
}

test('a sweep deletes items whose ttl is past and keeps live, ttl-less and non-numeric-ttl items', async () => {
  const name = await freshTable();
  await put(name, 'expired', { N: String(nowSeconds - 1) });
  await put(name, 'live', { N: String(nowSeconds + 60) });
  await put(name, 'expires-now', { N: String(nowSeconds) });
  await put(name, 'no-ttl');
  await put(name, 'string-ttl', { S: '1' });
  const t = manualTimers();
  const sweeper = startTtlSweeper(dynamo.client, name, { now: () => NOW, timers: t.timers });
  const result = await sweeper.sweep();
  expect(result).toMatchObject({ deleted: 1, wrapped: true });
  expect(await keys(name)).toEqual(['expires-now', 'live', 'no-ttl', 'string-ttl']);
  await sweeper.stop();
  expect(t.cancelled()).toBe(1);
});

test('one sweep does bounded work and the next resumes where it stopped, until all expired are gone', async () => {
  const name = await freshTable();
  for (let i = 0; i < 7; i++) await put(name, `old-${i}`, { N: String(nowSeconds - 100) });
  await put(name, 'live', { N: String(nowSeconds + 100) });
  const sweeper = startTtlSweeper(dynamo.client, name, {
    now: () => NOW,
    pageSize: 2,
    maxPages: 1,
    timers: manualTimers().timers,
  });
  const first = await sweeper.sweep();
  expect(first.scanned).toBeLessThanOrEqual(2);
  expect(first.deleted).toBeLessThanOrEqual(2);
  expect((await keys(name)).length).toBeGreaterThanOrEqual(6);
  for (let i = 0; i < 5; i++) await sweeper.sweep();
  expect(await keys(name)).toEqual(['live']);
  await sweeper.stop();
});

test('the timer runs sweeps on its schedule, and after stop nothing is swept', async () => {
  const name = await freshTable();
  await put(name, 'old', { N: String(nowSeconds - 1) });
  let now = new Date(NOW.getTime() - 10_000); // not yet past
  const t = manualTimers();
  const sweeper = startTtlSweeper(dynamo.client, name, { now: () => now, timers: t.timers });
  t.fire();
  await sweeper.sweep(); // joins the timer's sweep
  expect(await keys(name)).toEqual(['old']);
  now = NOW;
  t.fire();
  await sweeper.sweep();
  expect(await keys(name)).toEqual([]);
  await put(name, 'old-again', { N: String(nowSeconds - 1) });
  await sweeper.stop();
  expect((await sweeper.sweep()).deleted).toBe(0);
  expect(await keys(name)).toEqual(['old-again']);
});

test('an item renewed between the scan and its delete (an expired mark overwritten) is kept', async () => {
  const name = await freshTable();
  await put(name, 'mark', { N: String(nowSeconds - 1) });
  // The ingress overwrites the expired mark (a new delivery) just as the sweeper reaches it.
  const racing = {
    send: async (command: unknown) => {
      if (command instanceof DeleteItemCommand) await put(name, 'mark', { N: String(nowSeconds + 3600) });
      return dynamo.client.send(command as never);
    },
  } as unknown as DynamoDBClient;
  const sweeper = startTtlSweeper(racing, name, { now: () => NOW, timers: manualTimers().timers });
  expect((await sweeper.sweep()).deleted).toBe(0);
  expect(await keys(name)).toEqual(['mark']);
  await sweeper.stop();
});

test('the sandbox sweeps its state table: a run entry past retention is deleted, a mapping (no ttl) kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'millwright-ttl-'));
  const sandbox = await startTestSandbox({ dataDir: dir, stateOnSandboxClock: true });
  try {
    const { state, clock } = sandbox;
    await state.appendRun({
      flowId: 'flow-sweep',
      eventId: 'e-sweep',
      eventType: 'x.y',
      outcome: 'done',
      message: 'ok',
      at: clock.now().toISOString(),
    });
    await state.putMapping('sweep', 'src', 'dst');
    const stored = async () => {
      const out = await sandbox.dynamo.client.send(
        new QueryCommand({
          TableName: state.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'RUN#flow-sweep' } },
        }),
      );
      return out.Count ?? 0;
    };
    await sandbox.sweepExpired();
    expect(await stored()).toBe(1);
    clock.advance((sandbox.deployment.runtime.runLogRetentionDays + 1) * 86_400_000);
    await sandbox.sweepExpired();
    expect(await stored()).toBe(0);
    expect(await state.getMapping('sweep', 'src')).toBe('dst');
  } finally {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
