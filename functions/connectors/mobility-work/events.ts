/**
 * The 11 Mobility Work webhook events (reference §4.5), the accessors the webhook receiver reads raw
 * payloads with, and the typed accessors flows read parsed events with.
 *
 * MW documents no payload schema (`any`) and its doc collapsed every nested object, so the nested
 * field names are NAMED ASSUMPTIONS shared with the simulator (contract "(A)" fields). Schemas are
 * strict on the types of fields we read and tolerant of everything else:
 * - only `_event` and `networkId` are required; every other field is optional but type-checked;
 * - unknown fields pass through (loose objects);
 * - a nested object may be absent, `null`, or `[]` (PHP's empty array, e.g. task `metadata`).
 * Discriminate on `_event`, never on `_type` (only 5 of 11 events carry it).
 */
import * as z from 'zod/mini';
import { VendorResponseError } from '../../core/errors.ts';
import type { EventDefinition } from '../../core/events.ts';
import { lazySchema } from '../../core/schema.ts';
import { MW_VENDOR } from './errors.ts';

export const MW_EVENT_NAMES = [
  'TaskWasCompleted',
  'TaskWasScheduled',
  'TaskWasCanceled',
  'TaskWasStarted',
  'ActivityWasAddedOnTask',
  'SparePartWasOutOfStock',
  'SparePartStockWasUnderMinThreshold',
  'SparePartWasManuallyRecounted',
  'SparePartWasRestocked',
  'SparePartWasConsumed',
  'SparePartConsumptionWasCanceled',
] as const;
export type MwEventName = (typeof MW_EVENT_NAMES)[number];
export type MwFlowEventType = `mobility-work.${MwEventName}`;

/** FlowEvent `type`s, e.g. `MW_EVENT.TaskWasCompleted === 'mobility-work.TaskWasCompleted'`. */
export const MW_EVENT = Object.fromEntries(MW_EVENT_NAMES.map((name) => [name, `mobility-work.${name}`])) as {
  readonly [K in MwEventName]: `mobility-work.${K}`;
};

const KNOWN = new Set<string>(MW_EVENT_NAMES);
export const isMwEventName = (name: unknown): name is MwEventName =>
  typeof name === 'string' && KNOWN.has(name);

/** Events about a task (subject = task id); the others are about a spare part. */
export const MW_TASK_EVENTS: readonly MwEventName[] = [
  'TaskWasCompleted',
  'TaskWasScheduled',
  'TaskWasCanceled',
  'TaskWasStarted',
  'ActivityWasAddedOnTask',
];

// ---- schemas ----------------------------------------------------------------------------------

const str = lazySchema(() => z.optional(z.string()));
const nullableStr = lazySchema(() => z.optional(z.nullable(z.string())));
const num = lazySchema(() => z.optional(z.number()));
/** Native ids are numbers or strings (UUIDs, 8-hex task ids); flows compare them as strings. */
const id = lazySchema(() => z.optional(z.union([z.string(), z.number()])));

/** PHP serialises an empty map as `[]`. */
const emptyArrayAsObject = (value: unknown): unknown =>
  Array.isArray(value) && value.length === 0 ? {} : value;

/** A nested object: absent, null, `[]` or a (loose) object whose listed fields are type-checked. */
const nested = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.optional(z.pipe(z.transform(emptyArrayAsObject), z.nullable(z.looseObject(shape))));

const person = lazySchema(() => nested({ id, email: nullableStr, name: nullableStr }));
const taskRef = lazySchema(() => nested({ id }));
const sparePart = lazySchema(() => nested({ id, externalReference: str, name: str }));
const location = lazySchema(() => nested({ name: str }));
const associatedTo = lazySchema(() =>
  nested({ equipment: nested({ id, itemCode: nullableStr, name: str }) }),
);
const metadata = lazySchema(() => nested({}));
const movedStock = lazySchema(() => nested({ quantity: num, previousStock: num }));

const base = <E extends MwEventName, S extends z.core.$ZodLooseShape>(event: E, shape: S) =>
  z.looseObject({
    _event: z.literal(event),
    _idempotencyKey: z.optional(z.string().check(z.minLength(1))),
    networkId: z.string().check(z.minLength(1)),
    _type: str,
    _sentAt: str,
    emittedAt: str,
    _date: str,
    ...shape,
  });

const taskLifecycle = <E extends MwEventName, S extends z.core.$ZodLooseShape>(event: E, shape: S) =>
  base(event, { taskId: id, associatedTo, metadata, ...shape });

const stockAlert = <E extends MwEventName>(event: E) =>
  base(event, {
    stock: nested({ quantity: num, minimumStock: z.optional(z.nullable(z.number())) }),
    sparePart,
    movement: nested({ type: str, quantity: num }),
  });

export const MW_EVENT_SCHEMAS = {
  TaskWasCompleted: lazySchema(() =>
    base('TaskWasCompleted', {
      legacyId: id,
      id,
      doneAt: str,
      initiator: person,
      associatedTo,
      metadata,
    }),
  ),
  TaskWasScheduled: lazySchema(() =>
    taskLifecycle('TaskWasScheduled', {
      scheduled: nested({ at: str, startDateTime: str, endDateTime: str }),
    }),
  ),
  TaskWasStarted: lazySchema(() => taskLifecycle('TaskWasStarted', { started: nested({ at: str }) })),
  TaskWasCanceled: lazySchema(() =>
    taskLifecycle('TaskWasCanceled', { canceled: nested({ at: str, reason: nullableStr }) }),
  ),
  ActivityWasAddedOnTask: lazySchema(() =>
    base('ActivityWasAddedOnTask', {
      task: taskRef,
      equipment: nested({ id }),
      activity: nested({ id, comment: nullableStr }),
    }),
  ),
  SparePartWasOutOfStock: lazySchema(() => stockAlert('SparePartWasOutOfStock')),
  SparePartStockWasUnderMinThreshold: lazySchema(() => stockAlert('SparePartStockWasUnderMinThreshold')),
  SparePartWasManuallyRecounted: lazySchema(() =>
    base('SparePartWasManuallyRecounted', {
      sparePart,
      location,
      initiator: person,
      recounted: movedStock,
    }),
  ),
  SparePartWasRestocked: lazySchema(() =>
    base('SparePartWasRestocked', {
      task: taskRef,
      sparePart,
      location,
      initiator: person,
      restocked: movedStock,
    }),
  ),
  SparePartWasConsumed: lazySchema(() =>
    base('SparePartWasConsumed', {
      task: taskRef,
      sparePart,
      location,
      initiator: person,
      consumed: nested({ _type: str, quantity: num, previousStock: num }),
    }),
  ),
  SparePartConsumptionWasCanceled: lazySchema(() =>
    base('SparePartConsumptionWasCanceled', {
      task: taskRef,
      sparePart,
      activity: nested({ id, comment: nullableStr }),
      location,
    }),
  ),
} as const satisfies { [K in MwEventName]: z.ZodMiniType };

export type MwEventOf<K extends MwEventName> = z.output<(typeof MW_EVENT_SCHEMAS)[K]>;
export type MwEvent = { [K in MwEventName]: MwEventOf<K> }[MwEventName];

/**
 * What a webhook means (reference §4.5), for people: its name in words (`Task was started`). Only
 * TaskWasScheduled says less than it means.
 */
const describe = (name: MwEventName): string =>
  name === 'TaskWasScheduled'
    ? 'Task was created or scheduled'
    : name.replace(/\B[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);

/** The 11 webhook events; `data` is the payload as received, checked by its event's schema. */
export const mobilityWorkEvents = Object.fromEntries(
  MW_EVENT_NAMES.map((name) => [
    MW_EVENT[name],
    { schema: MW_EVENT_SCHEMAS[name], description: describe(name) },
  ]),
) as unknown as {
  readonly [K in MwEventName as `mobility-work.${K}`]: EventDefinition<MwEventOf<K>>;
};

// ---- accessors of payloads as received (the webhook receiver reads them before routing) ---------

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a dotted path (`sparePart.externalReference`), or undefined. */
export function fieldAt(payload: unknown, path: string): unknown {
  let at: unknown = payload;
  for (const key of path.split('.')) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return at;
}

const idString = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

export const eventNameOf = (payload: unknown): MwEventName | undefined => {
  const name = fieldAt(payload, '_event');
  return isMwEventName(name) ? name : undefined;
};

/** `taskId` (Scheduled/Started/Canceled), `id` (Completed) or `task.id` (activity and part events). */
export const taskIdOf = (payload: unknown): string | undefined =>
  idString(fieldAt(payload, 'taskId')) ??
  idString(fieldAt(payload, 'id')) ??
  idString(fieldAt(payload, 'task.id'));

/** The task's `metadata` (what we sent when scheduling it); `[]`, null or absent give `{}`. */
export function taskMetadataOf(payload: unknown): Record<string, unknown> {
  const value = fieldAt(payload, 'metadata');
  return isObject(value) ? value : {};
}

export interface MwSparePartRef {
  externalReference?: string;
  /** The native id, as a string. */
  id?: string;
  name?: string;
}

export function sparePartRefOf(payload: unknown): MwSparePartRef {
  const ref: MwSparePartRef = {};
  const externalReference = fieldAt(payload, 'sparePart.externalReference');
  const name = fieldAt(payload, 'sparePart.name');
  const nativeId = idString(fieldAt(payload, 'sparePart.id'));
  if (typeof externalReference === 'string' && externalReference !== '')
    ref.externalReference = externalReference;
  if (nativeId !== undefined) ref.id = nativeId;
  if (typeof name === 'string') ref.name = name;
  return ref;
}

export interface MwStockLevel {
  /** The stock after the event, when the payload says (or lets us compute) it. */
  quantity?: number;
  /** The minimum threshold (stock alerts only); null = none set. */
  minimum?: number | null;
}

const sum = (a: number | undefined, b: number | undefined, sign: 1 | -1) =>
  a === undefined || b === undefined ? undefined : a + sign * b;
const level = (quantity: number | undefined, minimum?: number | null): MwStockLevel => ({
  ...(quantity !== undefined ? { quantity } : {}),
  ...(minimum !== undefined ? { minimum } : {}),
});

/** The stock level a (parsed) event reports; undefined for events that carry none. */
export function stockLevelOf(data: MwEvent): MwStockLevel | undefined {
  switch (data._event) {
    case 'SparePartWasOutOfStock':
    case 'SparePartStockWasUnderMinThreshold':
      return level(data.stock?.quantity, data.stock?.minimumStock);
    case 'SparePartWasManuallyRecounted':
      return level(data.recounted?.quantity);
    case 'SparePartWasRestocked':
      return level(sum(data.restocked?.previousStock, data.restocked?.quantity, 1));
    case 'SparePartWasConsumed':
      return level(sum(data.consumed?.previousStock, data.consumed?.quantity, -1));
    default:
      return undefined;
  }
}

/** True when no network is configured or the payload's `networkId` is that network. */
export function networkMatches(payload: unknown, networkId: string | undefined): boolean {
  if (!networkId) return true;
  const actual = fieldAt(payload, 'networkId');
  return typeof actual === 'string' && actual.toLowerCase() === networkId.toLowerCase();
}

/** A field a flow cannot do without is missing or of the wrong kind; the payload will not change. */
const requiredFieldError = (event: string | undefined, path: string, message: string) =>
  new VendorResponseError(MW_VENDOR, `${event ?? 'unknown'} webhook`, path, message, { retryable: false });

/**
 * A field a flow cannot do without, e.g. `requireField(data, 'sparePart.externalReference', 'string')`.
 * Missing (or of the wrong kind): VendorResponseError naming the path, not retryable (the payload
 * will not change).
 */
export function requireField(payload: unknown, path: string, kind: 'string'): string;
export function requireField(payload: unknown, path: string, kind: 'number'): number;
export function requireField(payload: unknown, path: string): NonNullable<unknown>;
export function requireField(payload: unknown, path: string, kind?: 'string' | 'number'): unknown {
  const value = fieldAt(payload, path);
  const fail = (message: string) => requiredFieldError(eventNameOf(payload), path, message);
  if (value === undefined || value === null || value === '') throw fail('missing');
  if (kind === 'number' && (typeof value !== 'number' || !Number.isFinite(value)))
    throw fail('expected number');
  if (kind === 'string' && typeof value !== 'string') throw fail('expected string');
  return value;
}

// ---- accessors of parsed events (what a flow's handler gets: data typed by its event's schema) ----

/** The task lifecycle events, parsed. */
export type MwTaskEventData = MwEventOf<
  'TaskWasScheduled' | 'TaskWasStarted' | 'TaskWasCompleted' | 'TaskWasCanceled'
>;

export interface MwTaskRef {
  /** `taskId`, `id` (TaskWasCompleted) or `task.id`: the same rule as the webhook's subject. */
  id?: string;
  /** The task's `metadata` (what we sent when scheduling it); `{}` when absent. */
  metadata: Record<string, unknown>;
  /** Who did it: the initiator's name, else their e-mail, when the event names one. */
  by?: string;
}

/** The task a parsed task event is about. MW names its id differently per event (reference §4.5). */
export function taskRefOf(data: MwTaskEventData): MwTaskRef {
  const id = taskIdOf(data);
  const initiator = fieldAt(data, 'initiator');
  const name = isObject(initiator) ? initiator.name : undefined;
  const email = isObject(initiator) ? initiator.email : undefined;
  const by = typeof name === 'string' ? name : typeof email === 'string' ? email : undefined;
  return {
    ...(id !== undefined ? { id } : {}),
    metadata: data.metadata ?? {},
    ...(by !== undefined ? { by } : {}),
  };
}

/** The events about a spare part, parsed. */
export type MwSparePartEventData = MwEventOf<
  | 'SparePartWasOutOfStock'
  | 'SparePartStockWasUnderMinThreshold'
  | 'SparePartWasManuallyRecounted'
  | 'SparePartWasRestocked'
  | 'SparePartWasConsumed'
  | 'SparePartConsumptionWasCanceled'
>;

/**
 * The spare part's external reference, for a flow that cannot do without it (it is optional in MW's
 * payloads): missing, the same non-retryable VendorResponseError as `requireField` gives.
 */
export function sparePartReferenceOf(data: MwSparePartEventData): string {
  const ref = data.sparePart?.externalReference;
  if (ref === undefined || ref === '')
    throw requiredFieldError(data._event, 'sparePart.externalReference', 'missing');
  return ref;
}
