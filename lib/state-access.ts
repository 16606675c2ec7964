/**
 * Least privilege on the state table: the DynamoDB actions behind each StateStore method, and the
 * methods each function kind reaches (its runtime, the flows, receivers and poll sources it runs,
 * and the connector code they share: rate limiter, echo marks, claims). A function is granted the
 * union for its kind and nothing else: no Scan, no stream actions, no DescribeTable, no
 * ConditionCheckItem (Millwright writes no transactions).
 *
 * Kept in sync by test/unit/state-access.test.ts: it runs every method against a mocked client and
 * records the commands it sends (METHOD_ACTIONS must match exactly), and it bundles every generated
 * Lambda entry and finds the StateStore methods its modules call (KIND_METHODS must cover them, and
 * grant none that no entry of that kind calls).
 *
 * Key prefixes are not scoped per flow (`dynamodb:LeadingKeys`): several flows share namespaces on
 * purpose (the episode -> work-order mapping, the Deepomatic open set, echo marks, one rate-limit
 * bucket per vendor account, `LATEST#` records), and `ENTITY#<kind>` is not always the flow id, so a
 * per-flow prefix list would either break those hand-offs or list most prefixes anyway.
 *
 * | kind    | StateStore methods | DynamoDB actions |
 * |---------|--------------------|------------------|
 * | ingress | markDelivery, deliveryOf, forgetDelivery, take/giveBackRedelivery, hasRunEntries, rememberNonce, nonceSeenWith, forgetNonce, ownWriteBy | GetItem, PutItem, UpdateItem, DeleteItem, Query |
 * | worker  | the flow module's (below) + advanceOrder, getClaim, parkEvent | all item actions but Scan; no ConditionCheckItem |
 * | poller  | the flow module's + getFlowControl, load/savePollState, poll shards, recordPollRun | as the worker |
 * The operator-only methods (listRuns, queryRuns, lastError, lastPollRun, setFlowControl,
 * listParked, removeParked) are granted to no function; getClaim only to workers.
 */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { StateStore } from '../functions/core/state.ts';

export type DynamoAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:BatchWriteItem';

/** Every public method of StateStore except `withClient` (which makes no call). */
export type StateMethod = Exclude<
  {
    [K in keyof StateStore]: StateStore[K] extends (...args: never[]) => unknown ? K : never;
  }[keyof StateStore],
  'withClient' | 'leaseNow'
>;

const GET = 'dynamodb:GetItem';
const PUT = 'dynamodb:PutItem';
const UPDATE = 'dynamodb:UpdateItem';
const DELETE = 'dynamodb:DeleteItem';
const QUERY = 'dynamodb:Query';

/** What each method sends, including its fallbacks (a lost conditional write reads the item). */
export const METHOD_ACTIONS: Record<StateMethod, readonly DynamoAction[]> = {
  getVersioned: [GET],
  putVersioned: [PUT],
  loadPollState: [GET],
  savePollState: [PUT],
  loadPollShards: [QUERY],
  putPollShard: [PUT],
  deletePollShard: [DELETE],
  getEntity: [GET],
  putEntity: [PUT],
  deleteEntity: [DELETE],
  updateEntity: [GET, PUT],
  getEntities: ['dynamodb:BatchGetItem'],
  putMember: [PUT],
  deleteMember: [DELETE],
  listMembers: [QUERY],
  putLatest: ['dynamodb:BatchWriteItem'],
  forgetLatest: [DELETE],
  getLatest: [GET],
  acquireClaim: [UPDATE, GET],
  countFailedAttempt: [UPDATE],
  completeClaim: [UPDATE],
  renewClaim: [UPDATE],
  releaseClaim: [UPDATE],
  getClaim: [GET],
  advanceOrder: [UPDATE, GET],
  putMapping: [PUT],
  getMapping: [GET],
  rememberNonce: [PUT, GET],
  nonceSeenWith: [GET],
  forgetNonce: [DELETE],
  isDelivered: [GET],
  markDelivered: [PUT],
  markDelivery: [PUT, GET],
  deliveryOf: [GET],
  forgetDelivery: [DELETE],
  takeRedelivery: [UPDATE, GET],
  giveBackRedelivery: [UPDATE],
  hasRunEntries: [QUERY],
  intendOwnWrite: [PUT],
  forgetOwnWriteIntent: [DELETE],
  markOwnWrite: [UPDATE],
  ownWriteBy: [GET],
  ownWriteOf: [QUERY],
  appendRun: ['dynamodb:BatchWriteItem'],
  listRuns: [QUERY],
  queryRuns: [QUERY],
  lastError: [GET],
  recordPollRun: [PUT],
  lastPollRun: [GET],
  setFlowControl: [PUT],
  getFlowControl: [GET],
  parkEvent: [PUT],
  listParked: [QUERY],
  removeParked: [DELETE],
};

export type FunctionKind = 'ingress' | 'worker' | 'poller';

/** The rate limiter (core/rate-limit.ts), reached through the connector clients. */
const RATE_LIMITER: readonly StateMethod[] = ['getVersioned', 'putVersioned'];

/** What a flow module and its connectors may call (claims, entities, mappings, sets, latest, echo marks). */
const FLOW_MODULE: readonly StateMethod[] = [
  ...RATE_LIMITER,
  'appendRun',
  'acquireClaim',
  'completeClaim',
  'renewClaim',
  'releaseClaim',
  'getEntity',
  'updateEntity',
  'putEntity',
  'deleteEntity',
  'getEntities',
  'getMapping',
  'putMapping',
  'putMember',
  'deleteMember',
  'listMembers',
  'getLatest',
  'putLatest',
  'forgetLatest',
  'intendOwnWrite',
  'forgetOwnWriteIntent',
  'markOwnWrite',
  'ownWriteOf',
];

/**
 * The StateStore methods each kind of function calls (see the table above). A poller bundles its
 * whole flow module (the poll source is reached through the flow's trigger), so it is granted what
 * that module may call, like the worker.
 */
export const KIND_METHODS: Record<FunctionKind, readonly StateMethod[]> = {
  ingress: [
    'markDelivery',
    'deliveryOf',
    'forgetDelivery',
    // A redelivery while the first delivery may still be enqueueing is enqueued again, once per mark.
    'takeRedelivery',
    'giveBackRedelivery',
    'hasRunEntries',
    'rememberNonce',
    // Marks written before issue 14 keep their fingerprint on a separate nonce item.
    'nonceSeenWith',
    'forgetNonce',
    // UpKeep work-order echoes recognised at the ingress (upkeep/webhook.ts ownWrite).
    'ownWriteBy',
  ],
  poller: [
    ...FLOW_MODULE,
    'getFlowControl',
    'loadPollState',
    'savePollState',
    'loadPollShards',
    'putPollShard',
    'deletePollShard',
    'recordPollRun',
  ],
  // The order guard: only webhook-triggered flows call it (no poller bundles one). getClaim: the
  // task-status flow recognises a resent event that has no time of its own by its id.
  worker: [...FLOW_MODULE, 'advanceOrder', 'getClaim', 'parkEvent', 'countFailedAttempt'],
};

/** The DynamoDB actions a function of this kind is granted on the state table, sorted. */
export function stateActionsOf(kind: FunctionKind): DynamoAction[] {
  return [...new Set(KIND_METHODS[kind].flatMap((m) => METHOD_ACTIONS[m]))].sort();
}

/** Grants a function of this kind its actions on the state table, and nothing more. */
export function grantStateAccess(table: ITable, grantee: IGrantable, kind: FunctionKind): void {
  table.grant(grantee, ...stateActionsOf(kind));
}
