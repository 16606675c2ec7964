/**
 * The state store: one DynamoDB table (pk, sk, ttl) holding poll state (watermarks and per-entity
 * detector state), claims for side effects, entity state, id mappings, webhook nonces, echo marks
 * and the run log. Every write that guards an invariant is a conditional write.
 */
import { randomUUID } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { MillwrightError, redactDeep } from './errors.ts';

export class ConcurrentUpdateError extends MillwrightError {
  constructor(readonly key: string) {
    super(`${key} was changed by another writer`, { retryable: true });
  }
}

export type ClaimResult = Record<string, string>;

/**
 * What marking a webhook delivery found (see `StateStore.markDelivery`). `fresh`: first time, now
 * marked. `seen`: marked before: `at` (ms; absent on marks written before issue 14, which were
 * written after enqueueing), and the nonce and body fingerprint it was marked with, if any.
 */
export type DeliveryMark = { status: 'fresh' } | SeenDelivery;
export interface SeenDelivery {
  status: 'seen';
  at?: number;
  /** Seconds since `at`, on this store's clock (the one that wrote it). */
  ageSeconds?: number;
  nonce?: string;
  fingerprint?: string;
}

/** What a webhook nonce check found (see `StateStore.rememberNonce`). */
export type NonceCheck = 'fresh' | 'repeat' | 'replay';

export type ClaimState =
  | { status: 'acquired'; attempts: number }
  | { status: 'done'; result: ClaimResult }
  | { status: 'busy'; leaseUntil: number };

export interface Versioned<T> {
  data: T;
  version: number;
}

export interface RunLogEntry {
  flowId: string;
  eventId: string;
  eventType: string;
  outcome: string;
  message: string;
  at: string;
  effects?: Record<string, string>;
  /** The entity the event is about (machine, work order, part, task): `runs --subject` finds it. */
  subject?: string;
  /** More entities the run touched (e.g. the parts of one stock event), indexed like `subject`. */
  subjects?: readonly string[];
  /** How the event came, when not first-hand: `replay` (DLQ or parked), `backfill`, `test-event`. */
  via?: string;
  /**
   * The event as queued (its JSON), for `millwright show`: kept on the `EVENT#` copy only, cut at
   * MAX_RUN_EVENT_CHARS (a run-log item should cost a write unit or two, not a hundred).
   */
  eventBody?: string;
}

/** An event ordered against its subject (see `StateStore.advanceOrder`). */
export interface OrderMark {
  /** The event's own time (occurredAt, the vendor's updatedAt), in ms. */
  atMs: number;
  eventId: string;
  /** What it was, for people: `completed`, `status onHold`. */
  label: string;
  /**
   * false: `atMs` is only when the event was received (the vendor sent no time of its own), so it
   * cannot be ordered against an event that has one: it never replaces such a mark, and a `true`
   * one always replaces it (see `advanceOrder`). Absent: not said (ordered by time alone).
   */
  timed?: boolean;
}

/** `latest`: the event is now the subject's latest; `older`: a later one (`latest`) was applied first. */
export type OrderCheck = { status: 'latest' } | { status: 'older'; latest: OrderMark };

/** The longest event body a run-log entry keeps (`eventTruncated` marks a cut one). */
export const MAX_RUN_EVENT_CHARS = 4000;

/** A run-log lookup: by flow, by subject or by event id (one DynamoDB Query each), newest first. */
export interface RunQuery {
  flowId?: string;
  subject?: string;
  eventId?: string;
  /** ISO time: entries at or after it. */
  since?: string;
  /** ISO time: entries before it. */
  until?: string;
  /** Keep only these outcomes (filtered by DynamoDB, paged until `limit` are found). */
  outcomes?: readonly string[];
  /** Default 50. */
  limit?: number;
}

/** What a run-log query returned and what it cost (for `millwright runs` and the benchmark). */
export interface RunPage {
  entries: RunLogEntry[];
  /** DynamoDB Query requests made. */
  requests: number;
  /** Read capacity units consumed, where the engine reports it. */
  readUnits: number;
  /** More entries match than `limit`. */
  more: boolean;
}

/** Outcomes an operator must hear about: the latest one is kept per flow as its "last error". */
export const ERROR_OUTCOMES: readonly string[] = ['failed', 'dead-lettered', 'needs-attention', 'retrying'];

/** A poll run's result as `millwright status` shows it ("last poll"). */
export interface PollRunRecord {
  at: string;
  /** The step summaries joined, or `nothing new`. */
  summary: string;
  events: number;
  skipped: number;
  /** The error that ended the run, if it failed. */
  error?: string;
}

/** A flow's operator switches (`millwright pause` / `resume`). */
export interface FlowControl {
  paused: boolean;
  at: string;
  by?: string;
}

/** The most keys one run-log entry is indexed under (one BatchWriteItem takes 25 items). */
export const MAX_RUN_INDEX_KEYS = 20;

/** The run-log copies' partition keys. */
export const runKeys = {
  flow: (flowId: string) => `RUN#${flowId}`,
  subject: (subject: string) => `SUBJECT#${subject}`,
  event: (eventId: string) => `EVENT#${eventId}`,
};

/** Effect values that are vendor record ids (`workOrderId`, `taskId`, `deepomaticId`, ...). */
const effectIds = (effects: Record<string, string> | undefined): string[] =>
  Object.entries(effects ?? {})
    .filter(([key, value]) => /(Id|Ids|Ref)$/.test(key) && typeof value === 'string' && value !== '')
    .map(([, value]) => value);

/** Every subject an entry is found by: its subject, the record ids of its effects, its extra subjects. */
export function subjectsOf(entry: RunLogEntry): string[] {
  const all = [
    ...(entry.subject ? [entry.subject] : []),
    ...effectIds(entry.effects),
    ...(entry.subjects ?? []),
  ].filter((s) => s !== '' && s.length <= 512);
  return [...new Set(all)].slice(0, MAX_RUN_INDEX_KEYS - 2);
}

/** An event the worker parked ("needs attention"): kept with its body until an operator acts. */
export interface ParkedEvent {
  flowId: string;
  eventId: string;
  eventType: string;
  subject?: string;
  /** Why it was parked (the error's message). */
  reason: string;
  /** What the operator should look at before replaying or discarding it. */
  check: string;
  /** The queue message body exactly as received, for a replay. */
  body: string;
  at: string;
}

const DAY = 86_400;
const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string })?.name === 'ConditionalCheckFailedException';

export interface StateStoreOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  clientConfig?: DynamoDBClientConfig;
  now?: () => Date;
  /** Days a claim or mapping lives before TTL removes it (default 90). */
  retentionDays?: number;
  /** Days a run-log entry lives before TTL removes it (`runtime.runLogRetentionDays`, default 30). */
  runRetentionDays?: number;
}

const SHARD_PREFIX = 'SHARD#';

/**
 * One shard item of a poll state. `doc` is the entry as of step `at` (absent: a tombstone) and `prev`
 * what it was before that step, so a reader whose committed cursor is older than `at` (the run
 * crashed before committing) uses `prev`. `gen` ties shards to one cursor (a reset starts a new one).
 */
export interface PollShard {
  id: string;
  gen: string;
  at: number;
  /** The run that wrote it (a later run may replace an uncommitted shard only if it saw that run's). */
  run?: string;
  doc?: unknown;
  prev?: { doc?: unknown };
}

/** Sort-key prefix of an own-write intent (a version is an ISO time, so they never meet). */
const OWN_WRITE_INTENT = 'intent#';

export class StateStore {
  readonly tableName: string;
  private readonly db: DynamoDBDocumentClient;
  private readonly now: () => Date;
  /** Days claims, send intents, order marks and mappings are kept (their TTL); parked replay checks it. */
  readonly retentionDays: number;
  private readonly runRetentionDays: number;

  constructor(options: StateStoreOptions) {
    this.tableName = options.tableName;
    this.db =
      options.client ??
      DynamoDBDocumentClient.from(new DynamoDBClient(options.clientConfig ?? {}), {
        marshallOptions: { removeUndefinedValues: true },
      });
    this.now = options.now ?? (() => new Date());
    this.retentionDays = options.retentionDays ?? 90;
    this.runRetentionDays = options.runRetentionDays ?? 30;
  }

  /**
   * The same table and settings through another client: the operator's dry run puts an overlay in
   * front of this store's client (reads through, writes kept in memory).
   */
  withClient(wrap: (client: DynamoDBDocumentClient) => DynamoDBDocumentClient): StateStore {
    return new StateStore({
      tableName: this.tableName,
      client: wrap(this.db),
      now: this.now,
      retentionDays: this.retentionDays,
      runRetentionDays: this.runRetentionDays,
    });
  }

  /** Past its TTL (epoch seconds), though TTL may not have deleted it yet. */
  private expired(item: Record<string, unknown>): boolean {
    return typeof item.ttl === 'number' && item.ttl < Math.floor(this.now().getTime() / 1000);
  }

  private ttl(days = this.retentionDays): number {
    return Math.floor(this.now().getTime() / 1000) + days * DAY;
  }

  /**
   * One item. Strongly consistent unless `eventual` (half the read cost): only for what may lag a
   * second behind a write without harm (a pause switch, what `millwright status` shows).
   */
  private async getItem(
    pk: string,
    sk: string,
    eventual = false,
  ): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: !eventual }),
    );
    return out.Item;
  }

  // ---- versioned documents (poll state, entity state) ---------------------------------------

  async getVersioned<T>(pk: string, sk: string): Promise<Versioned<T> | undefined> {
    const item = await this.getItem(pk, sk);
    return item ? { data: item.doc as T, version: Number(item.version) } : undefined;
  }

  /** Write `data` if the stored version is still `expectedVersion` (undefined = must not exist). */
  async putVersioned<T>(
    pk: string,
    sk: string,
    data: T,
    expectedVersion: number | undefined,
  ): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk, doc: data, version, updatedAt: this.now().toISOString() },
          ConditionExpression:
            expectedVersion === undefined ? 'attribute_not_exists(pk)' : '#version = :expected',
          ExpressionAttributeNames: expectedVersion === undefined ? undefined : { '#version': 'version' },
          ExpressionAttributeValues:
            expectedVersion === undefined ? undefined : { ':expected': expectedVersion },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ConcurrentUpdateError(`${pk}/${sk}`);
      throw error;
    }
    return version;
  }

  loadPollState<T>(key: string) {
    return this.getVersioned<T>(`POLL#${key}`, 'STATE');
  }

  savePollState<T>(key: string, data: T, expectedVersion: number | undefined) {
    return this.putVersioned(`POLL#${key}`, 'STATE', data, expectedVersion);
  }

  // ---- poll-state shards: a poll source's per-entity state, one small item each ----------------
  // (functions/runtime/poll-state.ts owns the layout; these only move items.)

  /** Every shard item of one poll state (`POLL#<key>`, `SHARD#<id>`), all pages. */
  async loadPollShards(key: string): Promise<PollShard[]> {
    const shards: PollShard[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': `POLL#${key}`, ':prefix': SHARD_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        shards.push({
          id: String(item.sk).slice(SHARD_PREFIX.length),
          gen: String(item.gen),
          at: Number(item.at),
          ...(typeof item.run === 'string' ? { run: item.run } : {}),
          ...('doc' in item ? { doc: item.doc } : {}),
          ...(item.prev && typeof item.prev === 'object' ? { prev: item.prev as { doc?: unknown } } : {}),
        });
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return shards;
  }

  /**
   * Write one shard over an older step's (or another generation's). A shard of the same step is
   * replaced only when it is the uncommitted one `replaces` names (the run that wrote it, seen when
   * the state was loaded): a concurrent run's fresh shard, or a later step's, is never overwritten
   * (ConcurrentUpdateError).
   */
  async putPollShard(key: string, shard: PollShard, replaces?: string): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `POLL#${key}`,
            sk: `${SHARD_PREFIX}${shard.id}`,
            gen: shard.gen,
            at: shard.at,
            ...(shard.run === undefined ? {} : { run: shard.run }),
            ...(shard.doc === undefined ? {} : { doc: shard.doc }),
            ...(shard.prev ? { prev: shard.prev } : {}),
          },
          ConditionExpression: `attribute_not_exists(pk) OR #gen <> :gen OR #at < :at${replaces === undefined ? '' : ' OR (#at = :at AND #run = :replaces)'}`,
          ExpressionAttributeNames: {
            '#gen': 'gen',
            '#at': 'at',
            ...(replaces === undefined ? {} : { '#run': 'run' }),
          },
          ExpressionAttributeValues: {
            ':gen': shard.gen,
            ':at': shard.at,
            ...(replaces === undefined ? {} : { ':replaces': replaces }),
          },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new ConcurrentUpdateError(`POLL#${key}/${SHARD_PREFIX}${shard.id}`);
      throw error;
    }
  }

  /** Remove a shard if it is still the one written at `at` (a tombstone after its step committed). */
  async deletePollShard(key: string, id: string, gen: string, at: number): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `POLL#${key}`, sk: `${SHARD_PREFIX}${id}` },
          ConditionExpression: '#gen = :gen AND #at = :at',
          ExpressionAttributeNames: { '#gen': 'gen', '#at': 'at' },
          ExpressionAttributeValues: { ':gen': gen, ':at': at },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  getEntity<T>(kind: string, id: string) {
    return this.getVersioned<T>(`ENTITY#${kind}#${id}`, 'STATE');
  }

  putEntity<T>(kind: string, id: string, data: T, expectedVersion: number | undefined) {
    return this.putVersioned(`ENTITY#${kind}#${id}`, 'STATE', data, expectedVersion);
  }

  /** The store's clock in ms: the one its claim leases are on (a lease a flow keeps must use it too). */
  leaseNow(): number {
    return this.now().getTime();
  }

  /** Remove an entity if it is still at `expectedVersion` (else ConcurrentUpdateError). */
  async deleteEntity(kind: string, id: string, expectedVersion: number): Promise<void> {
    const pk = `ENTITY#${kind}#${id}`;
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk, sk: 'STATE' },
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ConcurrentUpdateError(`${pk}/STATE`);
      throw error;
    }
  }

  /**
   * Read-modify-write an entity with optimistic locking, retried a few times on conflict.
   * `change` returns the new value, or undefined to leave it as it is (then the current is returned).
   */
  async updateEntity<T>(
    kind: string,
    id: string,
    change: (current: T | undefined) => T | undefined,
    tries = 5,
  ): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.getEntity<T>(kind, id);
      const next = change(current === undefined ? undefined : structuredClone(current.data));
      if (next === undefined) return current?.data;
      try {
        await this.putEntity(kind, id, next, current?.version);
        return next;
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError) || attempt >= tries) throw error;
      }
    }
  }

  /** Many entities of one kind in BatchGet calls of 100 (a poll of 1,000 parts is 10 reads, not 1,000). */
  async getEntities<T>(kind: string, ids: readonly string[]): Promise<Map<string, Versioned<T>>> {
    const found = new Map<string, Versioned<T>>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique
        .slice(i, i + 100)
        .map((id) => ({ pk: `ENTITY#${kind}#${id}`, sk: 'STATE' }));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round > 8) throw new MillwrightError(`batch read of ${kind} kept returning unprocessed keys`);
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const id = String(item.pk).slice(`ENTITY#${kind}#`.length);
          found.set(id, { data: item.doc as T, version: Number(item.version) });
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return found;
  }

  // ---- sets: small named collections a poller walks (e.g. the open Deepomatic work orders) ------

  /**
   * Add a member, kept `retentionDays`, or with `untilRemoved` until `deleteMember`: a set a poller
   * follows to an end (an open work order) must not lose a member to the TTL while it is still open.
   */
  async putMember<T>(
    set: string,
    id: string,
    data: T,
    options: { untilRemoved?: boolean } = {},
  ): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `SET#${set}`,
          sk: id,
          doc: data,
          updatedAt: this.now().toISOString(),
          ...(options.untilRemoved ? {} : { ttl: this.ttl() }),
        },
      }),
    );
  }

  async deleteMember(set: string, id: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: `SET#${set}`, sk: id } }));
  }

  /** Members in id order, a page at a time (`after` = the last id of the previous page). */
  async listMembers<T>(
    set: string,
    options: { limit?: number; after?: string } = {},
  ): Promise<{ id: string; data: T }[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: options.after ? 'pk = :pk AND sk > :after' : 'pk = :pk',
        ExpressionAttributeValues: {
          ':pk': `SET#${set}`,
          ...(options.after ? { ':after': options.after } : {}),
        },
        Limit: options.limit ?? 100,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item) => ({ id: String(item.sk), data: item.doc as T }));
  }

  // ---- latest values: unconditional "last written" records (e.g. stock we set at a vendor) --------

  /** Overwrite the latest value of many ids in BatchWrite calls of 25 (kept `days`, default 7). */
  async putLatest<T>(kind: string, items: readonly { id: string; data: T }[], days = 7): Promise<void> {
    const ttl = this.ttl(days);
    const at = this.now().toISOString();
    for (let i = 0; i < items.length; i += 25) {
      let requests: Record<string, unknown>[] | undefined = items.slice(i, i + 25).map(({ id, data }) => ({
        PutRequest: { Item: { pk: `LATEST#${kind}`, sk: id, doc: data, at, ttl } },
      }));
      for (let round = 0; requests && requests.length > 0; round++) {
        if (round > 8) throw new MillwrightError(`batch write of ${kind} kept returning unprocessed items`);
        const out = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests as never } }),
        );
        requests = out.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined;
      }
    }
  }

  async forgetLatest(kind: string, id: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: `LATEST#${kind}`, sk: id } }),
    );
  }

  async getLatest<T>(kind: string, id: string): Promise<{ data: T; at: string } | undefined> {
    const item = await this.getItem(`LATEST#${kind}`, id);
    return item ? { data: item.doc as T, at: String(item.at) } : undefined;
  }

  // ---- claims: "no action twice" ------------------------------------------------------------

  /**
   * Count one failed attempt of an event (the worker's backoff exponent) and return the new count.
   * One item per event, written on failures only, kept `ttlSeconds` (past the retry horizon).
   */
  async countFailedAttempt(flowId: string, eventId: string, ttlSeconds: number): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `ATTEMPTS#${flowId}`, sk: eventId },
        UpdateExpression: 'ADD attempts :one SET #ttl = :ttl',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':ttl': Math.floor(this.now().getTime() / 1000) + ttlSeconds,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.attempts ?? 1);
  }

  /**
   * Claim side effect `key` for `owner` for `leaseMs`. `acquired` with attempts > 1 means an earlier
   * attempt may have acted: look for its effect before acting again.
   */
  async acquireClaim(key: string, owner: string, leaseMs: number): Promise<ClaimState> {
    const now = this.now().getTime();
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `CLAIM#${key}`, sk: 'CLAIM' },
          UpdateExpression:
            'SET #owner = :owner, leaseUntil = :lease, #state = if_not_exists(#state, :pending), attempts = if_not_exists(attempts, :zero) + :one, createdAt = if_not_exists(createdAt, :nowIso), #ttl = :ttl',
          ConditionExpression:
            'attribute_not_exists(pk) OR (#state <> :done AND (leaseUntil < :now OR #owner = :owner))',
          ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':lease': now + leaseMs,
            ':pending': 'pending',
            ':done': 'done',
            ':zero': 0,
            ':one': 1,
            ':now': now,
            ':nowIso': new Date(now).toISOString(),
            ':ttl': this.ttl(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { status: 'acquired', attempts: Number(out.Attributes?.attempts ?? 1) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = await this.getItem(`CLAIM#${key}`, 'CLAIM');
      if (item?.state === 'done') return { status: 'done', result: (item.result ?? {}) as ClaimResult };
      return { status: 'busy', leaseUntil: Number(item?.leaseUntil ?? 0) };
    }
  }

  /** Record the effect. Once done, a claim is never performed again. */
  async completeClaim(key: string, result: ClaimResult): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `CLAIM#${key}`, sk: 'CLAIM' },
        UpdateExpression: 'SET #state = :done, #result = :result, completedAt = :at REMOVE leaseUntil',
        ExpressionAttributeNames: { '#state': 'state', '#result': 'result' },
        ExpressionAttributeValues: {
          ':done': 'done',
          ':result': redactDeep(result),
          ':at': this.now().toISOString(),
        },
      }),
    );
  }

  /** Give the lease up after a failure so the retry need not wait for it to expire. */
  /**
   * Extend the lease of a claim this owner still holds (pending): the owner is still at work. False
   * when it is no longer held (taken over after the lease ran out, or completed).
   */
  async renewClaim(key: string, owner: string, leaseMs: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `CLAIM#${key}`, sk: 'CLAIM' },
          UpdateExpression: 'SET leaseUntil = :lease',
          ConditionExpression: '#owner = :owner AND #state <> :done',
          ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':lease': this.now().getTime() + leaseMs,
            ':done': 'done',
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  async releaseClaim(key: string, owner: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `CLAIM#${key}`, sk: 'CLAIM' },
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: '#owner = :owner AND #state <> :done',
          ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state' },
          ExpressionAttributeValues: { ':owner': owner, ':zero': 0, ':done': 'done' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async getClaim(
    key: string,
  ): Promise<{ state: string; result?: ClaimResult; attempts: number } | undefined> {
    const item = await this.getItem(`CLAIM#${key}`, 'CLAIM');
    return item
      ? {
          state: String(item.state),
          result: item.result as ClaimResult | undefined,
          attempts: Number(item.attempts),
        }
      : undefined;
  }

  // ---- order per subject: the latest event applied to a subject, by the event's own time ------

  /**
   * Record `mark` as the latest event applied to subject `id` of `kind`, unless a later one (by
   * the events' own time, never arrival) already is: one conditional UpdateItem, written BEFORE
   * the effect, so an older event retried or replayed while a later one is applied or being applied
   * is refused (`older`, naming the later event; one more read, on that path only). Equal times pass:
   * the retry of the same event, a vendor's redelivery under a new id, ties (claims absorb those).
   * A mark with `timed: false` (a receive time) never replaces one with the event's own time, and
   * one with `timed: true` always replaces a receive time: a receive time is later than when the
   * event happened (hours, for a resend), so it would win against events that came after it.
   */
  async advanceOrder(kind: string, id: string, mark: OrderMark): Promise<OrderCheck> {
    const timeless = mark.timed === false;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `ORDER#${kind}#${id}`, sk: 'ORDER' },
          UpdateExpression: `SET atMs = :at, eventId = :event, #label = :label, appliedAt = :now, #ttl = :ttl${mark.timed === undefined ? ' REMOVE #timed' : ', #timed = :timed'}`,
          ConditionExpression: timeless
            ? 'attribute_not_exists(atMs) OR (atMs <= :at AND (attribute_not_exists(#timed) OR #timed = :timed))'
            : mark.timed
              ? 'attribute_not_exists(atMs) OR atMs <= :at OR #timed = :false'
              : 'attribute_not_exists(atMs) OR atMs <= :at',
          ExpressionAttributeNames: { '#label': 'label', '#ttl': 'ttl', '#timed': 'timed' },
          ExpressionAttributeValues: {
            ':ttl': this.ttl(),
            ':at': mark.atMs,
            ':event': mark.eventId,
            ':label': mark.label,
            ':now': this.now().toISOString(),
            ...(mark.timed === undefined ? {} : { ':timed': mark.timed }),
            ...(mark.timed ? { ':false': false } : {}),
          },
        }),
      );
      return { status: 'latest' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = await this.getItem(`ORDER#${kind}#${id}`, 'ORDER');
      return {
        status: 'older',
        latest: {
          atMs: Number(item?.atMs),
          eventId: String(item?.eventId ?? '?'),
          label: String(item?.label ?? '?'),
          ...(typeof item?.timed === 'boolean' ? { timed: item.timed } : {}),
        },
      };
    }
  }

  // ---- id mappings between systems ----------------------------------------------------------

  async putMapping(namespace: string, sourceId: string, targetId: string): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `MAP#${namespace}`, sk: sourceId, targetId, updatedAt: this.now().toISOString() },
      }),
    );
  }

  async getMapping(namespace: string, sourceId: string): Promise<string | undefined> {
    const item = await this.getItem(`MAP#${namespace}`, sourceId);
    return item?.targetId as string | undefined;
  }

  // ---- webhook replay protection and echo marks ----------------------------------------------

  /**
   * Replay protection for signed webhooks. `fresh`: the first time this nonce is seen within its
   * TTL (it is now remembered with the body's fingerprint). `repeat`: seen before with the same
   * fingerprint, i.e. the vendor resending a delivery whose answer it did not get; authentic, and
   * the ingress's delivery marks keep it from being enqueued twice. `replay`: seen with another
   * body (or none recorded): refuse it.
   */
  async rememberNonce(
    namespace: string,
    nonce: string,
    options: { ttlSeconds: number; fingerprint: string },
  ): Promise<NonceCheck> {
    const now = Math.floor(this.now().getTime() / 1000);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `NONCE#${namespace}`,
            sk: nonce,
            fingerprint: options.fingerprint,
            ttl: now + options.ttlSeconds,
          },
          // TTL deletion is lazy, so an expired-but-present nonce may be reused.
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return 'fresh';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return (await this.nonceSeenWith(namespace, nonce, options.fingerprint)) ? 'repeat' : 'replay';
    }
  }

  /** Was this nonce remembered (and not expired) with exactly this body fingerprint? Reads only. */
  async nonceSeenWith(namespace: string, nonce: string, fingerprint: string): Promise<boolean> {
    const item = await this.getItem(`NONCE#${namespace}`, nonce);
    return (
      item !== undefined &&
      Number(item.ttl) >= Math.floor(this.now().getTime() / 1000) &&
      typeof item.fingerprint === 'string' &&
      item.fingerprint === fingerprint
    );
  }

  /** Undo `rememberNonce` for a delivery we did not accept, so the vendor's retry is not a "replay". */
  async forgetNonce(namespace: string, nonce: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: `NONCE#${namespace}`, sk: nonce } }),
    );
  }

  /** Was an event with this id acknowledged within its TTL (webhook redelivery with the same key)? */
  async isDelivered(namespace: string, id: string): Promise<boolean> {
    const item = await this.getItem(`DELIVERY#${namespace}`, id);
    return item !== undefined && Number(item.ttl) >= Math.floor(this.now().getTime() / 1000);
  }

  async markDelivered(namespace: string, id: string, ttlSeconds: number): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `DELIVERY#${namespace}`,
          sk: id,
          ttl: Math.floor(this.now().getTime() / 1000) + ttlSeconds,
        },
      }),
    );
  }

  /**
   * Mark a webhook delivery (the event id) as accepted, with the signature's nonce and the body's
   * fingerprint on the same item: one conditional PutItem, no read, on the common path. Written
   * before enqueueing (the ingress deletes it when enqueueing fails); the item read back only when
   * the condition fails (a redelivery or a replay).
   */
  async markDelivery(
    namespace: string,
    id: string,
    options: { ttlSeconds: number; nonce?: string; fingerprint?: string },
  ): Promise<DeliveryMark> {
    const nowMs = this.now().getTime();
    const now = Math.floor(nowMs / 1000);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `DELIVERY#${namespace}`,
            sk: id,
            at: nowMs,
            ...(options.nonce ? { nonce: options.nonce } : {}),
            ...(options.fingerprint ? { fingerprint: options.fingerprint } : {}),
            ttl: now + options.ttlSeconds,
          },
          // TTL deletion is lazy: an expired mark is overwritten.
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return { status: 'fresh' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return (await this.deliveryOf(namespace, id)) ?? { status: 'seen' };
    }
  }

  /** A delivery's mark, if it is there and not expired. Reads only. */
  async deliveryOf(namespace: string, id: string): Promise<SeenDelivery | undefined> {
    const item = await this.getItem(`DELIVERY#${namespace}`, id);
    if (!item || Number(item.ttl) < Math.floor(this.now().getTime() / 1000)) return undefined;
    return {
      status: 'seen' as const,
      ...(typeof item.at === 'number'
        ? { at: item.at, ageSeconds: (this.now().getTime() - item.at) / 1000 }
        : {}),
      ...(typeof item.nonce === 'string' ? { nonce: item.nonce } : {}),
      ...(typeof item.fingerprint === 'string' ? { fingerprint: item.fingerprint } : {}),
    };
  }

  /**
   * Take the one extra enqueue a delivery mark allows (the ingress's early redelivery, see
   * runtime/ingress.ts): `taken` once per mark; `taken-before` after that; `gone` when the mark is
   * not there any more (its first delivery failed to enqueue and undid it). Duplicate path only.
   */
  async takeRedelivery(namespace: string, id: string): Promise<'taken' | 'taken-before' | 'gone'> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `DELIVERY#${namespace}`, sk: id },
          UpdateExpression: 'SET redeliveredAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(redeliveredAt)',
          ExpressionAttributeValues: { ':at': this.now().getTime() },
        }),
      );
      return 'taken';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // dynalite returns no item with a failed condition: one read tells the two apart.
      return (await this.deliveryOf(namespace, id)) ? 'taken-before' : 'gone';
    }
  }

  /** Give back `takeRedelivery` when that enqueue failed, so a later redelivery may try again. */
  async giveBackRedelivery(namespace: string, id: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `DELIVERY#${namespace}`, sk: id },
          UpdateExpression: 'REMOVE redeliveredAt',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Undo `markDelivery` for a delivery we did not accept, so the vendor's retry goes through. */
  async forgetDelivery(namespace: string, id: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: `DELIVERY#${namespace}`, sk: id } }),
    );
  }

  /**
   * Has a worker recorded any outcome of this event (its `EVENT#` run-log copy)? One Query of one
   * item, eventually consistent (half the read cost): the ingress asks it only of a redelivery.
   */
  async hasRunEntries(eventId: string): Promise<boolean> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': runKeys.event(eventId) },
        Limit: 1,
        ProjectionExpression: 'pk',
      }),
    );
    return (out.Items ?? []).length > 0;
  }

  /**
   * Before a write whose echo may come back before its answer (UpKeep fires a webhook as it
   * commits): an intent with no version yet, naming the flow and when. The mark of the version,
   * written after the answer, names the intent it resolves (`markOwnWrite`'s `intent`). Returns the
   * intent's id.
   */
  async intendOwnWrite(namespace: string, id: string, byFlow: string): Promise<string> {
    const intent = randomUUID();
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `ECHO#${namespace}#${id}`,
          sk: `${OWN_WRITE_INTENT}${intent}`,
          by: byFlow,
          at: this.now().toISOString(),
          ttl: this.ttl(1),
        },
      }),
    );
    return intent;
  }

  /** Undo `intendOwnWrite` for a write the vendor certainly refused. */
  async forgetOwnWriteIntent(namespace: string, id: string, intent: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `ECHO#${namespace}#${id}`, sk: `${OWN_WRITE_INTENT}${intent}` },
      }),
    );
  }

  /**
   * Remember a write we made (e.g. work order id + updatedAt) and which flow made it, so the
   * webhook it causes is recognised, and credited to the right flow; `intent` names the intent it
   * resolves (`intendOwnWrite`).
   */
  async markOwnWrite(
    namespace: string,
    id: string,
    fingerprint: string,
    byFlow: string,
    intent?: string,
  ): Promise<void> {
    // An update, not a put: two writes of ours may answer one version (a PATCH that changed
    // nothing), and each intent must stay resolved.
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `ECHO#${namespace}#${id}`, sk: fingerprint },
        UpdateExpression: `SET #by = :by, #ttl = :ttl${intent ? ' ADD intents :intent' : ''}`,
        ExpressionAttributeNames: { '#by': 'by', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':by': byFlow,
          ':ttl': this.ttl(7),
          ...(intent ? { ':intent': new Set([intent]) } : {}),
        },
      }),
    );
  }

  /** The flow that made this write, or undefined when we did not make it. */
  async ownWriteBy(namespace: string, id: string, fingerprint: string): Promise<string | undefined> {
    const item = await this.getItem(`ECHO#${namespace}#${id}`, fingerprint);
    if (!item) return undefined;
    return typeof item.by === 'string' ? item.by : 'a Millwright flow';
  }

  /**
   * Whose write this version is (`by`), else an intent of ours still unanswered, at most
   * `pendingMs` old (`pending`): while it is, nobody can tell this version from a person's change.
   * One Query of the record's marks (a few per record: they live 7 days, intents 1).
   */
  async ownWriteOf(
    namespace: string,
    id: string,
    fingerprint: string,
    pendingMs: number,
  ): Promise<{ by?: string; pending?: { by: string; at: string } }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `ECHO#${namespace}#${id}` },
        ConsistentRead: true,
      }),
    );
    const items = out.Items ?? [];
    const exact = items.find((i) => i.sk === fingerprint);
    if (exact) return { by: typeof exact.by === 'string' ? exact.by : 'a Millwright flow' };
    const resolved = new Set(items.flatMap((i) => (i.intents instanceof Set ? [...i.intents] : [])));
    const since = this.now().getTime() - pendingMs;
    const pending = items.find(
      (i) =>
        String(i.sk).startsWith(OWN_WRITE_INTENT) &&
        !resolved.has(String(i.sk).slice(OWN_WRITE_INTENT.length)) &&
        Date.parse(String(i.at)) >= since,
    );
    return pending ? { pending: { by: String(pending.by), at: String(pending.at) } } : {};
  }

  // ---- run log: what happened to each event, for operators -----------------------------------

  /**
   * One entry, written once per key it is found by, in one BatchWriteItem request: `RUN#<flow>`
   * (by time), `EVENT#<event id>` (`millwright show`), `SUBJECT#<id>` for its subject and every
   * vendor record id it touched (`millwright runs --subject`), and for an error outcome the flow's
   * `LAST_ERROR`. Every lookup is then one Query on the table's own key: no scan, no index to add.
   * Texts are redacted of every credential a client holds (errors.ts): operators read them.
   */
  async appendRun(entry: RunLogEntry): Promise<void> {
    const { eventBody, ...rest } = entry;
    const clean = redactDeep({ ...rest, subjects: entry.subjects ? [...entry.subjects] : undefined });
    const rand = randomUUID().slice(0, 8);
    const ttl = this.ttl(this.runRetentionDays);
    const item = (pk: string, sk: string, extra: Record<string, unknown> = {}) => ({
      PutRequest: { Item: { pk, sk, ...clean, ...extra, ttl } },
    });
    const body =
      eventBody === undefined
        ? {}
        : {
            ...packBody(redactDeep(eventBody.slice(0, MAX_RUN_EVENT_CHARS))),
            ...(eventBody.length > MAX_RUN_EVENT_CHARS ? { eventTruncated: true } : {}),
          };
    // The suffix keeps every attempt of one event, even when attempts share a timestamp.
    const puts = [
      item(runKeys.flow(entry.flowId), `${entry.at}#${entry.eventId}#${rand}`),
      item(runKeys.event(entry.eventId), `${entry.at}#${entry.flowId}#${rand}`, body),
      ...subjectsOf(entry).map((s) =>
        item(runKeys.subject(s), `${entry.at}#${entry.flowId}#${entry.eventId}#${rand}`),
      ),
      ...(ERROR_OUTCOMES.includes(entry.outcome) ? [item(`FLOW#${entry.flowId}`, 'LAST_ERROR')] : []),
    ];
    await this.batchWrite(puts, 'run-log entry');
  }

  private async batchWrite(requests: Record<string, unknown>[], what: string): Promise<void> {
    let pending: Record<string, unknown>[] | undefined = requests;
    for (let round = 0; pending && pending.length > 0; round++) {
      if (round > 8) throw new MillwrightError(`batch write of ${what} kept returning unprocessed items`);
      const out = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }),
      );
      pending = out.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined;
    }
  }

  /** The newest entries of one flow (kept for callers that only need a flow's latest runs). */
  async listRuns(flowId: string, limit = 50): Promise<RunLogEntry[]> {
    return (await this.queryRuns({ flowId, limit })).entries;
  }

  /**
   * Run-log entries by subject, event id or flow (in that order of precedence), newest first: one
   * Query per page. `since`/`until` narrow the sort key; `outcomes` filter (paged until `limit`).
   */
  async queryRuns(q: RunQuery): Promise<RunPage> {
    const pk = q.subject
      ? runKeys.subject(q.subject)
      : q.eventId
        ? runKeys.event(q.eventId)
        : q.flowId
          ? runKeys.flow(q.flowId)
          : undefined;
    if (!pk) throw new MillwrightError('a run-log query needs a flow, a subject or an event id');
    const limit = q.limit ?? 50;
    const values: Record<string, unknown> = { ':pk': pk };
    let condition = 'pk = :pk';
    if (q.since || q.until) {
      condition += ' AND sk BETWEEN :from AND :to';
      values[':from'] = q.since ?? '';
      values[':to'] = q.until ?? '~';
    }
    const filters: string[] = [];
    if (q.outcomes && q.outcomes.length > 0) {
      filters.push(`outcome IN (${q.outcomes.map((_, i) => `:o${i}`).join(', ')})`);
      q.outcomes.forEach((o, i) => {
        values[`:o${i}`] = o;
      });
    }
    // A subject or event partition holds every flow's entries: narrow to one flow if asked.
    if (q.flowId && pk !== runKeys.flow(q.flowId)) {
      filters.push('flowId = :flow');
      values[':flow'] = q.flowId;
    }
    const page: RunPage = { entries: [], requests: 0, readUnits: 0, more: false };
    let start: Record<string, unknown> | undefined;
    let pastRetention = false;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: condition,
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: filters.length > 0 ? Math.max(100, limit) : limit + 1,
          ExclusiveStartKey: start,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      page.requests++;
      page.readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
      for (const item of out.Items ?? []) {
        // TTL deletion is lazy (never, in the sandbox's engine): an expired entry is gone. Entries
        // come newest first, so the rest of the partition is past the retention too.
        if (this.expired(item)) pastRetention = true;
        else page.entries.push(toRunEntry(item));
      }
      start = out.LastEvaluatedKey;
    } while (start && !pastRetention && page.entries.length <= limit);
    page.more =
      page.entries.length > limit || (start !== undefined && !pastRetention && filters.length === 0);
    page.entries = page.entries.slice(0, limit);
    return page;
  }

  /** The latest error outcome of a flow (see ERROR_OUTCOMES), if any within the run-log retention. */
  async lastError(flowId: string): Promise<RunLogEntry | undefined> {
    const item = await this.getItem(`FLOW#${flowId}`, 'LAST_ERROR', true);
    // TTL deletion is lazy (and never happens in the sandbox's engine): an expired item is gone.
    return item && !this.expired(item) ? toRunEntry(item) : undefined;
  }

  // ---- poll runs and flow switches: what `millwright status` shows ------------------------------

  /** Remember a poll run's result (one item per poll source, overwritten each run). */
  async recordPollRun(key: string, run: PollRunRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `POLL#${key}`, sk: 'LAST_RUN', ...redactDeep(run) },
      }),
    );
  }

  async lastPollRun(key: string): Promise<PollRunRecord | undefined> {
    const item = await this.getItem(`POLL#${key}`, 'LAST_RUN', true);
    if (!item) return undefined;
    return {
      at: String(item.at),
      summary: String(item.summary),
      events: Number(item.events ?? 0),
      skipped: Number(item.skipped ?? 0),
      ...(typeof item.error === 'string' ? { error: item.error } : {}),
    };
  }

  /** Pause or resume a flow (its worker and pollers check this; see operator/pause.ts). */
  async setFlowControl(flowId: string, control: FlowControl): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `FLOW#${flowId}`, sk: 'CONTROL', ...control },
      }),
    );
  }

  async getFlowControl(flowId: string): Promise<FlowControl | undefined> {
    // A pause takes effect on the next read that sees it (a second at most): no consistent read.
    const item = await this.getItem(`FLOW#${flowId}`, 'CONTROL', true);
    if (!item) return undefined;
    return {
      paused: item.paused === true,
      at: String(item.at),
      ...(typeof item.by === 'string' ? { by: item.by } : {}),
    };
  }

  // ---- parked events: needs attention (issue 9; the worker parks, operators list and clear) -----

  /**
   * Keep an event the worker cannot complete without risking a duplicate or a loss. No TTL: it stays
   * until an operator replays or discards it. Returns its id (for `removeParked`).
   */
  async parkEvent(event: ParkedEvent): Promise<string> {
    const id = `${event.at}#${event.eventId}#${randomUUID().slice(0, 8)}`;
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: `PARKED#${event.flowId}`, sk: id, ...event } }),
    );
    return id;
  }

  /**
   * A flow's parked events, newest first, at most `limit`. Every page: a Query page stops at 1 MB,
   * and parked bodies can be large, so one page alone would hide the oldest from list and replay.
   */
  async listParked(flowId: string, limit = 50): Promise<(ParkedEvent & { id: string })[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `PARKED#${flowId}` },
          ScanIndexForward: false,
          Limit: limit - items.length,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.map((item) => ({
      id: String(item.sk),
      flowId: String(item.flowId),
      eventId: String(item.eventId),
      eventType: String(item.eventType),
      ...(typeof item.subject === 'string' ? { subject: item.subject } : {}),
      reason: String(item.reason),
      check: String(item.check),
      body: String(item.body),
      at: String(item.at),
    }));
  }

  /** Clear a parked event once an operator has replayed or discarded it. */
  async removeParked(flowId: string, id: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: `PARKED#${flowId}`, sk: id } }),
    );
  }
}

/**
 * The event body as the `EVENT#` copy keeps it: deflated (`eventBodyZ`, binary) when that is
 * shorter. A webhook's JSON deflates to about half, which keeps the copy within one write unit
 * (1 KB) where the plain text would take two.
 */
function packBody(body: string): { eventBody: string } | { eventBodyZ: Uint8Array } {
  const packed = deflateRawSync(Buffer.from(body, 'utf8'));
  return packed.length < Buffer.byteLength(body)
    ? { eventBodyZ: new Uint8Array(packed) }
    : { eventBody: body };
}

/** The body of a run-log item: deflated (since issue 14) or plain (older items, short bodies). */
function unpackBody(item: Record<string, unknown>): string | undefined {
  if (item.eventBodyZ instanceof Uint8Array) return inflateRawSync(item.eventBodyZ).toString('utf8');
  return typeof item.eventBody === 'string' ? item.eventBody : undefined;
}

function toRunEntry(item: Record<string, unknown>): RunLogEntry {
  const eventBody = unpackBody(item);
  return {
    flowId: String(item.flowId),
    eventId: String(item.eventId),
    eventType: String(item.eventType),
    outcome: String(item.outcome),
    message: String(item.message),
    at: String(item.at),
    ...(item.effects ? { effects: item.effects as Record<string, string> } : {}),
    ...(typeof item.subject === 'string' ? { subject: item.subject } : {}),
    ...(Array.isArray(item.subjects) ? { subjects: item.subjects.map(String) } : {}),
    ...(typeof item.via === 'string' ? { via: item.via } : {}),
    ...(eventBody !== undefined ? { eventBody } : {}),
  };
}
