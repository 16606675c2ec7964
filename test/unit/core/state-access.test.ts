/**
 * Keeps lib/state-access.ts (the IAM actions granted on the state table) in sync with the code:
 * METHOD_ACTIONS against the commands each StateStore method really sends, KIND_METHODS against the
 * methods the modules bundled into each generated Lambda entry call.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { build } from 'esbuild';
import { loadDeployment } from '../../../functions/config/deployment.ts';
import { StateStore } from '../../../functions/core/state.ts';
import { flows } from '../../../functions/flows/index.ts';
import { PROJECT_ROOT, stateKindOf, writeEntries } from '../../../lib/entries.ts';
import {
  type FunctionKind,
  KIND_METHODS,
  METHOD_ACTIONS,
  type StateMethod,
  stateActionsOf,
} from '../../../lib/state-access.ts';

/** lib-dynamodb command class -> the IAM action it needs. */
const ACTION_OF: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  PutCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  TransactWriteCommand: 'dynamodb:TransactWriteItems',
  TransactGetCommand: 'dynamodb:TransactGetItems',
};

const run = {
  flowId: 'f',
  eventId: 'e',
  eventType: 't',
  outcome: 'failed',
  message: 'm',
  at: '2026-01-01T00:00:00.000Z',
  subject: 's',
};

/** Arguments to call each method with (the compiler asks for a new method's). */
const ARGS: Record<StateMethod, unknown[]> = {
  getVersioned: ['pk', 'sk'],
  putVersioned: ['pk', 'sk', {}, 1],
  loadPollState: ['k'],
  savePollState: ['k', {}, undefined],
  loadPollShards: ['k'],
  putPollShard: ['k', { id: 'm', gen: 'g', at: 1, doc: {} }],
  deletePollShard: ['k', 'm', 'g', 1],
  getEntity: ['kind', 'id'],
  putEntity: ['kind', 'id', {}, undefined],
  deleteEntity: ['kind', 'id', 1],
  updateEntity: ['kind', 'id', () => ({ changed: true })],
  getEntities: ['kind', ['a', 'b']],
  putMember: ['set', 'id', {}],
  deleteMember: ['set', 'id'],
  listMembers: ['set', { after: 'x' }],
  putLatest: ['kind', [{ id: 'a', data: {} }]],
  forgetLatest: ['kind', 'id'],
  getLatest: ['kind', 'id'],
  acquireClaim: ['key', 'owner', 1000],
  countFailedAttempt: ['f', 'evt@1', 3600],
  completeClaim: ['key', {}],
  renewClaim: ['key', 'owner', 1000],
  releaseClaim: ['key', 'owner'],
  getClaim: ['key'],
  advanceOrder: ['kind', 'id', { atMs: 1, eventId: 'e', label: 'l' }],
  putMapping: ['ns', 'a', 'b'],
  getMapping: ['ns', 'a'],
  rememberNonce: ['ns', 'n', { ttlSeconds: 60, fingerprint: 'f' }],
  nonceSeenWith: ['ns', 'n', 'f'],
  forgetNonce: ['ns', 'n'],
  isDelivered: ['ns', 'id'],
  markDelivered: ['ns', 'id', 60],
  markDelivery: ['ns', 'id', { ttlSeconds: 60, nonce: 'n', fingerprint: 'f' }],
  deliveryOf: ['ns', 'id'],
  forgetDelivery: ['ns', 'id'],
  takeRedelivery: ['ns', 'id'],
  giveBackRedelivery: ['ns', 'id'],
  hasRunEntries: ['e'],
  intendOwnWrite: ['ns', 'id', 'flow'],
  forgetOwnWriteIntent: ['ns', 'id', 'i'],
  markOwnWrite: ['ns', 'id', 'f', 'flow', 'i'],
  ownWriteBy: ['ns', 'id', 'f'],
  ownWriteOf: ['ns', 'id', 'f', 1000],
  appendRun: [run],
  listRuns: ['f'],
  queryRuns: [{ subject: 's', outcomes: ['failed'] }],
  lastError: ['f'],
  recordPollRun: ['k', { at: run.at, summary: 's', events: 0, skipped: 0 }],
  lastPollRun: ['k'],
  setFlowControl: ['f', { paused: true, at: run.at }],
  getFlowControl: ['f'],
  parkEvent: [{ flowId: 'f', eventId: 'e', eventType: 't', reason: 'r', check: 'c', body: '{}', at: run.at }],
  listParked: ['f'],
  removeParked: ['f', 'id'],
};

const conditionFailed = Object.assign(new Error('The conditional request failed'), {
  name: 'ConditionalCheckFailedException',
});

/** The actions a method sends when every call succeeds, and when its first call loses a condition. */
async function actionsSentBy(method: StateMethod): Promise<string[]> {
  const sent = new Set<string>();
  for (const firstFails of [false, true]) {
    const db = mockClient(DynamoDBDocumentClient);
    if (firstFails) db.onAnyCommand().rejectsOnce(conditionFailed).resolves({});
    else db.onAnyCommand().resolves({});
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    );
    const store = new StateStore({ tableName: 'state', client });
    const call = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store);
    await call(...ARGS[method]).catch(() => undefined);
    for (const c of db.calls()) {
      const name = (c.args[0] as object).constructor.name;
      sent.add(ACTION_OF[name] ?? `unknown ${name}`);
    }
    db.restore();
  }
  return [...sent].sort();
}

describe('METHOD_ACTIONS', () => {
  it.each(Object.keys(ARGS) as StateMethod[])(
    'lists exactly the DynamoDB actions %s sends',
    async (method) => {
      expect(await actionsSentBy(method)).toEqual([...METHOD_ACTIONS[method]].sort());
    },
  );
});

describe('KIND_METHODS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'millwright-entries-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const methodNames = Object.keys(METHOD_ACTIONS) as StateMethod[];
  const call = new RegExp(`\\.(${methodNames.join('|')})\\s*[<(]`, 'g');
  const stateModule = resolve(PROJECT_ROOT, 'functions/core/state.ts');

  /**
   * Modules a kind bundles but never runs: a worker or poller imports a connector's webhook receiver
   * for its event schemas (only the ingress verifies deliveries). A poller reaches its poll source
   * through its flow module, so it is granted what that module's graph may call.
   */
  const NOT_RUN: Record<FunctionKind, RegExp[]> = {
    ingress: [],
    worker: [/\/functions\/connectors\/[^/]+\/webhook\.ts$/],
    poller: [/\/functions\/connectors\/[^/]+\/webhook\.ts$/],
  };

  /** Methods called by the project modules an entry bundles (state.ts's own internal calls aside). */
  async function methodsCalledBy(entryPath: string, kind: FunctionKind): Promise<Set<StateMethod>> {
    const result = await build({
      entryPoints: [entryPath],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      external: ['@aws-sdk/*'],
      logLevel: 'silent',
    });
    // Walk the import graph from the entry, not entering modules this kind never runs.
    const { inputs } = result.metafile;
    const found = new Set<StateMethod>();
    const seen = new Set<string>();
    const pending = Object.keys(inputs).filter((i) => resolve(i) === entryPath);
    while (pending.length > 0) {
      const input = pending.pop() as string;
      const path = resolve(input);
      if (seen.has(input) || path.includes('node_modules') || NOT_RUN[kind].some((re) => re.test(path)))
        continue;
      seen.add(input);
      pending.push(...(inputs[input]?.imports ?? []).map((i) => i.path));
      if (path === stateModule || !path.endsWith('.ts')) continue;
      for (const m of readFileSync(path, 'utf8').matchAll(call)) found.add(m[1] as StateMethod);
    }
    expect(seen.size).toBeGreaterThan(3);
    return found;
  }

  it('covers every StateStore method each generated entry calls, and grants none that no entry of its kind calls', async () => {
    const deployment = loadDeployment(join(PROJECT_ROOT, 'config/default.json'), flows);
    const entries = writeEntries(deployment, dir);
    const used: Record<FunctionKind, Set<StateMethod>> = {
      ingress: new Set(),
      worker: new Set(),
      poller: new Set(),
    };
    const missing: string[] = [];
    for (const entry of entries) {
      const kind = stateKindOf(entry.kind);
      for (const method of await methodsCalledBy(entry.entryPath, kind)) {
        used[kind].add(method);
        if (!KIND_METHODS[kind].includes(method)) missing.push(`${entry.id} calls ${method}`);
      }
    }
    expect(missing).toEqual([]);
    const sorted = (r: Record<FunctionKind, Iterable<StateMethod>>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [...v].sort()]));
    expect(sorted(KIND_METHODS)).toEqual(sorted(used));
  }, 120_000);

  it('grants no Scan, stream, DescribeTable or transaction action to any kind', () => {
    for (const kind of Object.keys(KIND_METHODS) as FunctionKind[]) {
      for (const action of stateActionsOf(kind)) {
        expect(action).toMatch(
          /^dynamodb:(GetItem|BatchGetItem|Query|PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/,
        );
      }
    }
  });
});
