/**
 * Validation helpers over zod/mini. zod/mini keeps Lambda bundles small (about 14 KB against 450 KB
 * for classic zod with its locales), but it ships no English messages, so we describe issues here.
 */
import * as z from 'zod/mini';

type Issue = z.core.$ZodIssue;

export const issuePath = (issue: { path: readonly PropertyKey[] }): string =>
  issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');

export function describeIssue(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown key(s) ${issue.keys.join(', ')}`;
    case 'invalid_format':
      // A message given with the check (e.g. z.regex(re, 'must be a number')) says it best.
      return issue.message && issue.message !== 'Invalid input'
        ? issue.message
        : `must be a valid ${issue.format}`;
    case 'invalid_key':
      // A record's key failed its own check: say why, not just "invalid_key".
      return `bad key: ${issue.issues.map((i) => describeIssue(i as Issue)).join('; ')}`;
    case 'invalid_union':
      // A discriminated union's key with no branch of its own: name the values it takes.
      return 'options' in issue && issue.options && issue.options.length > 0
        ? `must be one of ${issue.options.map((v) => JSON.stringify(v)).join(', ')}`
        : 'matches none of the allowed shapes';
    default:
      return issue.message && issue.message !== 'Invalid input' ? issue.message : issue.code;
  }
}

export interface SchemaProblem {
  path: string;
  message: string;
}

/** Parse `value`; on failure call `fail` with the first problem (path + readable message). */
export function parseWith<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  fail: (problem: SchemaProblem, error: z.core.$ZodError) => Error,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const problem = issue
    ? { path: issuePath(issue), message: describeIssue(issue) }
    : { path: '', message: 'invalid' };
  throw fail(problem, result.error);
}

/** Every problem, for messages that should list them all (config validation). */
export const listProblems = (error: z.core.$ZodError): SchemaProblem[] =>
  error.issues.map((issue) => ({ path: issuePath(issue), message: describeIssue(issue) }));

// ---------------------------------------------------------------------------------------------
// Unknown keys. zod drops keys a plain object schema does not know, so a misspelt setting
// (`apiVersoin`) would silently fall back to its default. Config is checked against its schema's
// shape at every depth instead, whatever object kind each flow or connector schema uses.

interface Def {
  type: string;
  shape?: Record<string, z.ZodMiniType>;
  catchall?: z.ZodMiniType;
  innerType?: z.ZodMiniType;
  in?: z.ZodMiniType;
  out?: z.ZodMiniType;
  element?: z.ZodMiniType;
  valueType?: z.ZodMiniType;
  options?: readonly z.ZodMiniType[];
  left?: z.ZodMiniType;
  right?: z.ZodMiniType;
  getter?: () => z.ZodMiniType;
  /** A discriminated union's key. */
  discriminator?: string;
}

const defOf = (schema: z.ZodMiniType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Edit distance, for "did you mean": small strings only (config keys). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The known key closest to `key`, if it is close enough to be a slip (case or a few letters). */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : distance(key, candidate);
    if (!best || d < best.d) best = { key: candidate, d };
  }
  return best && best.d <= Math.max(2, Math.floor(best.key.length / 3)) ? best.key : undefined;
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closestKey(key, known);
  if (suggestion) return `unknown key "${key}" (did you mean "${suggestion}"?)`;
  return `unknown key "${key}" (known keys: ${known.join(', ') || 'none'})`;
}

/**
 * Keys in `value` that `schema` does not know, at every depth: objects (plain or strict; loose
 * ones accept anything), arrays, records, optionals, defaults, pipes, and the union branch that
 * `value` matches. Values that fail validation are left to the schema's own errors.
 */
export function unknownKeys(
  schema: z.ZodMiniType,
  value: unknown,
  path: readonly PropertyKey[] = [],
): SchemaProblem[] {
  const def = defOf(schema);
  const at = (key: PropertyKey) => issuePath({ path: [...path, key] });
  switch (def.type) {
    case 'object': {
      if (!isPlainObject(value) || !def.shape) return [];
      const known = Object.keys(def.shape);
      const loose = def.catchall !== undefined && defOf(def.catchall).type !== 'never';
      return Object.entries(value).flatMap(([key, v]) => {
        const field = def.shape?.[key];
        if (field) return unknownKeys(field, v, [...path, key]);
        return loose ? [] : [{ path: at(key), message: unknownKeyMessage(key, known) }];
      });
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return value === undefined || value === null || !def.innerType
        ? []
        : unknownKeys(def.innerType, value, path);
    case 'pipe':
      return def.in ? unknownKeys(def.in, value, path) : [];
    case 'lazy':
      return def.getter ? unknownKeys(def.getter(), value, path) : [];
    case 'array':
      return Array.isArray(value) && def.element
        ? value.flatMap((v, i) => unknownKeys(def.element as z.ZodMiniType, v, [...path, i]))
        : [];
    case 'record':
      return isPlainObject(value) && def.valueType
        ? Object.entries(value).flatMap(([k, v]) =>
            unknownKeys(def.valueType as z.ZodMiniType, v, [...path, k]),
          )
        : [];
    case 'union': {
      // A discriminated union: the branch its key names, even when the value fails that branch
      // (zod reports only that branch's issues, so an unknown key in it is ours to name).
      const key = def.discriminator;
      const branch =
        key !== undefined
          ? isPlainObject(value)
            ? def.options?.find((option) => defOf(option).shape?.[key]?.safeParse(value[key]).success)
            : undefined
          : def.options?.find((option) => option.safeParse(value).success);
      return branch ? unknownKeys(branch, value, path) : [];
    }
    case 'intersection':
      return [def.left, def.right].flatMap((s) => (s ? unknownKeys(s, value, path) : []));
    default:
      return [];
  }
}

const prefixed = (prefix: string, path: string) => (prefix && path ? `${prefix}.${path}` : prefix || path);

/**
 * Validate a value an operator wrote (a config file, a secrets file): every schema problem and every
 * unknown key, at every depth, all at once, with `prefix` before each path. `data` is set only when
 * there is no problem.
 */
export function checkStrict<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  prefix = '',
): { data?: z.infer<S>; problems: SchemaProblem[] } {
  const problems = unknownKeys(schema, value).map((p) => ({ ...p, path: prefixed(prefix, p.path) }));
  const result = schema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) {
      // `unknownKeys` reported those, with a suggestion.
      if (issue.code === 'unrecognized_keys') continue;
      problems.push({ path: prefixed(prefix, issuePath(issue)), message: describeIssue(issue) });
    }
  }
  return problems.length === 0 && result.success ? { data: result.data, problems } : { problems };
}

// ---------------------------------------------------------------------------------------------
// Lazy schemas. Building a zod schema costs far more than parsing with it, and a module holds
// many its function never uses (an UpKeep worker parses a few of its 40 response shapes), so a
// module-scope schema is declared with `lazySchema` and built on its first use, once.

let declaredCount = 0;
let builtCount = 0;

/** How many lazy schemas were declared and how many built so far (tests and the init bench). */
export const lazySchemaCounts = (): { declared: number; built: number } => ({
  declared: declaredCount,
  built: builtCount,
});

/**
 * A schema built by `build` on first use and kept. It is the schema itself to every caller (a
 * Proxy forwarding to it), so it nests, parses and is inspected like the schema `build` returns.
 */
export function lazySchema<S extends object>(build: () => S): S {
  declaredCount += 1;
  let schema: S | undefined;
  const real = (): S => {
    if (schema === undefined) {
      schema = build();
      builtCount += 1;
    }
    return schema;
  };
  return new Proxy({} as S, {
    get: (_, key) => {
      const target = real();
      return Reflect.get(target, key, target);
    },
    set: (_, key, value) => Reflect.set(real(), key, value),
    has: (_, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      // The Proxy's own target is an empty object: a property it lacks may not be reported as fixed.
      return descriptor ? { ...descriptor, configurable: true } : undefined;
    },
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(real(), key, descriptor),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}

/**
 * A number, or a string holding one (`"1"`, `"88.00"`): vendors that send numbers as strings in
 * some answers (UpKeep's work-order `priority`, Click Maint's quantities). Empty or non-numeric
 * strings fail.
 */
export const numericSchema = lazySchema(() =>
  z.pipe(
    z.union([z.number(), z.string()]),
    z.transform((value, ctx) => {
      const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(n)) {
        ctx.issues.push({ code: 'custom', message: 'expected a number or a numeric string', input: value });
        return z.NEVER;
      }
      return n;
    }),
  ),
);
