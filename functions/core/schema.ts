/**
 * Validation helpers over zod/mini. zod/mini keeps Lambda bundles small (about 14 KB against 450 KB
 * for classic zod with its locales), but it ships no English messages, so we describe issues here.
 */
import type * as z from 'zod/mini';

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
      return `must be a valid ${issue.format}`;
    case 'invalid_union':
      return 'matches none of the allowed shapes';
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
