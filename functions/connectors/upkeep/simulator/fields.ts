/**
 * How a create or PATCH body is applied to a part, purchase order or work order: field by field in
 * the body's order (so the first bad field is the one the 400 names), each documented field through
 * its setter, any other field checked and kept in `extra` as sent (UpKeep echoes them back).
 */

/** Checks one field's value and sets it on the record (or throws the field's 400). */
export type FieldSetter<K extends string = string> = (value: unknown, field: K) => void;

/** One setter for several fields that share their check (e.g. the nullable strings). */
export function sameSetter<const K extends string>(
  fields: readonly K[],
  set: FieldSetter<K>,
): Record<K, FieldSetter> {
  return Object.fromEntries(fields.map((field) => [field, set])) as Record<K, FieldSetter>;
}

/** For fields another step reads (e.g. `statusAction`), which are neither set nor kept. */
export const ignoreField: FieldSetter = () => undefined;

export function applyBody(
  record: { extra: Record<string, unknown> },
  body: Record<string, unknown>,
  setters: Record<string, FieldSetter>,
  checkExtra: (field: string, value: unknown) => void,
): void {
  for (const [field, value] of Object.entries(body)) {
    if (value === undefined) continue;
    // Own keys only: a body field named `constructor` is an extra, not Object's.
    const set = Object.hasOwn(setters, field) ? setters[field] : undefined;
    if (set) {
      set(value, field);
      continue;
    }
    checkExtra(field, value);
    record.extra[field] = structuredClone(value);
  }
}
