/** Request-body checks of create and PATCH (messages: E1 lists, E3 strings; reference §3). */
import type { DeepomaticSimState } from './state.ts';

/** DEEPOMATIC_NAME_ASCII_ONLY (schemas.ts): "letters" read as ASCII letters, the stricter reading. */
const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
const NAME_MAX = 128;

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');
export const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);

/** Field errors for the fields present in `body` (and the required ones on create). */
export function validateWorkOrderBody(
  state: DeepomaticSimState,
  body: Record<string, unknown>,
  create: boolean,
): Record<string, string> {
  const errors: Record<string, string> = {};
  if (create && body.name === undefined) errors.name = "Field 'name' is missing. This field is required.";
  else if (body.name !== undefined) {
    if (typeof body.name !== 'string') errors.name = 'Not a valid string.';
    else if (body.name.length > NAME_MAX) errors.name = 'The name is limited to 128 characters maximum.';
    else if (!NAME_PATTERN.test(body.name))
      errors.name = 'Only letters, numbers, underscores and hyphens are accepted for the name.';
  }
  if (create && body.metadata === undefined && state.requireMetadata)
    errors.metadata = "Field 'metadata' is missing. This field is required.";
  else if (body.metadata !== undefined && !isRecord(body.metadata))
    errors.metadata = `The metadata must be sent as a key-value object, got ${jsonType(body.metadata)}.`;
  if (body.tags !== undefined && !isStringList(body.tags)) errors.tags = 'Expected a list of strings.';
  if (body.user_group_ids !== undefined && !Array.isArray(body.user_group_ids))
    errors.user_group_ids = 'Expected a list of items.';
  if (body.work_order_types !== undefined) {
    if (!isStringList(body.work_order_types)) errors.work_order_types = 'Expected a list of strings.';
    else {
      // DEEPOMATIC_SIM_UNKNOWN_TYPES_REFUSED (index.ts): a simulator choice, the doc only warns
      // that types "have been configured beforehand".
      const unknown = body.work_order_types.filter((t) => !state.types.includes(t));
      if (unknown.length > 0) errors.work_order_types = `Unknown work order type(s): ${unknown.join(', ')}.`;
    }
  }
  // A string on create and PATCH (api-doc.txt:158-160, 331-333); null is not one (the doc shows no
  // way to remove an engineer: PATCH says "Add or override").
  if (body.field_engineer_email !== undefined && typeof body.field_engineer_email !== 'string')
    errors.field_engineer_email = 'Not a valid string.';
  return errors;
}

export const unknownEngineer = (state: DeepomaticSimState, body: Record<string, unknown>) =>
  typeof body.field_engineer_email === 'string' &&
  !state.engineers.has(body.field_engineer_email.toLowerCase());
