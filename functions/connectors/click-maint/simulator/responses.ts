/**
 * The answers every route shares: the `{status: 'error', message}` body, the named input error that
 * becomes it, and the `{status: 'success', data, meta}` envelope with `meta.entity` / `meta.customer`.
 */
import {
  controlRoute,
  json,
  type Route,
  type SimResponse,
  SimulatorInputError,
  type SyncHandler,
} from '../../../../sandbox/simulators/server.ts';
import type { SimEntity } from './records.ts';

/** A control or API input that cannot be applied: the toolkit's error, whose `status` the route answers. */
export { SimulatorInputError };

const CUSTOMER = { id: 84, name: 'Acme Corporation' };

const errorBody = (message: string) => ({ status: 'error', message });

export const errorResponse = (status: number, message: string): SimResponse =>
  json(status, errorBody(message));
export const unprocessable = (message: string) => new SimulatorInputError(422, message);

/** A control route whose SimulatorInputErrors answer in Click Maint's error body. */
export const control = (method: string, pattern: string, handler: SyncHandler): Route =>
  controlRoute(method, pattern, handler, (error) => errorBody(error.message));

/** A record as `Record<string, unknown>`: the rendered row lists filter and sort on. */
export type Row = Record<string, unknown>;

/** The entity's settings as `meta.entity` shows them (the simulator's entities all use these). */
const ENTITY_SETTINGS = {
  currency: 'USD',
  currency_symbol: '$',
  datetime_format: 'MM/DD/YYYY - 11:59 PM',
  timezone: 'Etc/UTC: +00:00',
};

/** Account-level answers (`GET /entities`) carry `meta.entity` with the same keys, all null. */
const NO_ENTITY = Object.fromEntries(
  ['id', 'name', ...Object.keys(ENTITY_SETTINGS)].map((key) => [key, null]),
);

export const entityMeta = (entity: SimEntity | undefined) => ({
  entity: entity ? { id: entity.id, name: entity.name, ...ENTITY_SETTINGS } : NO_ENTITY,
  customer: CUSTOMER,
});

export const one = (entity: SimEntity, data: Row, status = 200): SimResponse =>
  json(status, { status: 'success', data, meta: entityMeta(entity) });
