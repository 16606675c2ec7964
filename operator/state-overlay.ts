/**
 * The dry run's state table: a DynamoDBDocumentClient stand-in whose reads go to the real table and
 * whose writes go to an in-memory overlay, so a dry run sees its own writes (a claim it took, a
 * run-log entry) but leaves the table as it was: no claim marked done, no run logged.
 *
 * Writes are applied as DynamoDB would: the item is read (overlay first, then the table), the
 * ConditionExpression is evaluated (a failure is a ConditionalCheckFailedException, which the state
 * store handles as it does in AWS), then the item or UpdateExpression is applied in memory. The
 * expression grammar covered is what functions/core/state.ts writes: comparisons, AND/OR/NOT,
 * parentheses, attribute_exists/attribute_not_exists/begins_with, and SET (with `+`, `-`,
 * if_not_exists) and REMOVE clauses. Anything else raises DryRunStateError rather than guessing.
 *
 * Queries read the table; items the overlay changed or deleted are replaced or dropped in the
 * answer, but items the overlay added are not merged in (no flow handler queries what it wrote).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { MillwrightError } from '../functions/core/errors.ts';
import type { RecordedWrite } from './dry-run.ts';

/** A command or expression the overlay does not cover. */
export class DryRunStateError extends MillwrightError {}

type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

interface Sender {
  send(command: unknown): Promise<unknown>;
}

const keyOf = (key: Item): string => `${String(key.pk)} / ${String(key.sk)}`;

// ---- expressions ----------------------------------------------------------------------------

type Token = { kind: 'word' | 'name' | 'value' | 'op' | 'punct'; text: string };

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(#\w+)|(:\w+)|(<>|<=|>=|=|<|>|\+|-)|([(),.])|([A-Za-z_]\w*))/y;
  let at = 0;
  while (at < expression.length) {
    if (/^\s*$/.test(expression.slice(at))) break;
    pattern.lastIndex = at;
    const m = pattern.exec(expression);
    if (!m) throw new DryRunStateError(`dry run: cannot read expression "${expression}" at ${at}`);
    at = pattern.lastIndex;
    if (m[1]) tokens.push({ kind: 'name', text: m[1] });
    else if (m[2]) tokens.push({ kind: 'value', text: m[2] });
    else if (m[3]) tokens.push({ kind: 'op', text: m[3] });
    else if (m[4]) tokens.push({ kind: 'punct', text: m[4] });
    else if (m[5]) tokens.push({ kind: 'word', text: m[5] });
  }
  return tokens;
}

/** A recursive-descent reader over one expression's tokens. */
class Reader {
  private at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
    private readonly names: Names,
    private readonly values: Values,
  ) {}

  fail(what: string): never {
    throw new DryRunStateError(`dry run: ${what} in expression "${this.source}"`);
  }
  peek(): Token | undefined {
    return this.tokens[this.at];
  }
  done(): boolean {
    return this.at >= this.tokens.length;
  }
  next(): Token {
    const token = this.tokens[this.at++];
    if (!token) this.fail('unexpected end');
    return token;
  }
  isWord(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }
  expect(text: string): void {
    const t = this.next();
    if (t.text.toUpperCase() !== text) this.fail(`expected "${text}", got "${t.text}"`);
  }

  /** An attribute path: `name`, `#name`, dotted. */
  path(): string[] {
    const parts = [this.pathPart()];
    while (this.peek()?.text === '.') {
      this.next();
      parts.push(this.pathPart());
    }
    return parts;
  }
  private pathPart(): string {
    const t = this.next();
    if (t.kind === 'word') return t.text;
    if (t.kind === 'name') {
      const name = this.names?.[t.text];
      if (name === undefined) this.fail(`${t.text} is not in ExpressionAttributeNames`);
      return name;
    }
    return this.fail(`expected an attribute, got "${t.text}"`);
  }
  value(token: Token): unknown {
    if (!this.values || !Object.hasOwn(this.values, token.text)) {
      this.fail(`${token.text} is not in ExpressionAttributeValues`);
    }
    return this.values[token.text];
  }
}

const getPath = (item: Item | undefined, path: readonly string[]): unknown => {
  let at: unknown = item;
  for (const part of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Item)[part];
  }
  return at;
};

function setPath(item: Item, path: readonly string[], value: unknown): void {
  let at = item;
  for (const part of path.slice(0, -1)) {
    const next = at[part];
    if (typeof next !== 'object' || next === null) throw new DryRunStateError(`dry run: no map at ${part}`);
    at = next as Item;
  }
  at[path[path.length - 1] as string] = value;
}

function removePath(item: Item, path: readonly string[]): void {
  const parent = getPath(item, path.slice(0, -1));
  if (typeof parent === 'object' && parent !== null) delete (parent as Item)[path[path.length - 1] as string];
}

/** DynamoDB compares numbers with numbers and strings with strings; a missing operand compares false. */
function compare(op: string, a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return false;
  if (op === '=') return JSON.stringify(a) === JSON.stringify(b);
  if (op === '<>') return JSON.stringify(a) !== JSON.stringify(b);
  const comparable =
    (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!comparable) return false;
  const x = a as number | string;
  const y = b as number | string;
  if (op === '<') return x < y;
  if (op === '<=') return x <= y;
  if (op === '>') return x > y;
  return x >= y;
}

/** A condition operand: an attribute or a value. */
function operand(r: Reader, item: Item | undefined): unknown {
  const t = r.peek();
  if (t?.kind === 'value') return r.value(r.next());
  return getPath(item, r.path());
}

function condition(r: Reader, item: Item | undefined): boolean {
  let result = conjunction(r, item);
  while (r.isWord('OR')) {
    r.next();
    const right = conjunction(r, item);
    result = result || right;
  }
  return result;
}

function conjunction(r: Reader, item: Item | undefined): boolean {
  let result = negation(r, item);
  while (r.isWord('AND')) {
    r.next();
    const right = negation(r, item);
    result = result && right;
  }
  return result;
}

function negation(r: Reader, item: Item | undefined): boolean {
  if (r.isWord('NOT')) {
    r.next();
    return !negation(r, item);
  }
  return primary(r, item);
}

const CONDITION_FUNCTIONS = new Set(['ATTRIBUTE_EXISTS', 'ATTRIBUTE_NOT_EXISTS', 'BEGINS_WITH']);

function primary(r: Reader, item: Item | undefined): boolean {
  const t = r.peek();
  if (t?.text === '(') {
    r.next();
    const inner = condition(r, item);
    r.expect(')');
    return inner;
  }
  if (t?.kind === 'word' && CONDITION_FUNCTIONS.has(t.text.toUpperCase())) {
    const fn = r.next().text.toUpperCase();
    r.expect('(');
    const path = r.path();
    let result: boolean;
    if (fn === 'BEGINS_WITH') {
      r.expect(',');
      const prefix = operand(r, item);
      const value = getPath(item, path);
      result = typeof value === 'string' && typeof prefix === 'string' && value.startsWith(prefix);
    } else {
      const exists = getPath(item, path) !== undefined;
      result = fn === 'ATTRIBUTE_EXISTS' ? exists : !exists;
    }
    r.expect(')');
    return result;
  }
  const left = operand(r, item);
  const op = r.next();
  if (op.kind !== 'op' || op.text === '+' || op.text === '-')
    r.fail(`expected a comparison, got "${op.text}"`);
  return compare(op.text, left, operand(r, item));
}

/** Whether `item` (undefined: absent) meets the expression; no expression is always met. */
export function meetsCondition(
  expression: string | undefined,
  item: Item | undefined,
  names: Names,
  values: Values,
): boolean {
  if (!expression) return true;
  const r = new Reader(tokenize(expression), expression, names, values);
  const result = condition(r, item);
  if (!r.done()) r.fail(`unexpected "${r.peek()?.text}"`);
  return result;
}

/** An update value: operand [+|- operand], an operand being a value, an attribute or if_not_exists. */
function updateValue(r: Reader, item: Item): unknown {
  const left = updateOperand(r, item);
  const op = r.peek();
  if (op?.text !== '+' && op?.text !== '-') return left;
  r.next();
  const right = updateOperand(r, item);
  if (typeof left !== 'number' || typeof right !== 'number') r.fail(`${op.text} needs two numbers`);
  return op.text === '+' ? left + right : left - right;
}

function updateOperand(r: Reader, item: Item): unknown {
  const t = r.peek();
  if (t?.kind === 'value') return r.value(r.next());
  if (t?.kind === 'word' && t.text.toUpperCase() === 'IF_NOT_EXISTS') {
    r.next();
    r.expect('(');
    const existing = getPath(item, r.path());
    r.expect(',');
    const fallback = updateValue(r, item);
    r.expect(')');
    return existing === undefined ? fallback : existing;
  }
  return getPath(item, r.path());
}

/** Apply an UpdateExpression (SET and REMOVE clauses) to a copy of `item`. */
export function applyUpdate(expression: string, item: Item, names: Names, values: Values): Item {
  const next = structuredClone(item);
  const r = new Reader(tokenize(expression), expression, names, values);
  const sets: [string[], unknown][] = [];
  const removes: string[][] = [];
  while (!r.done()) {
    const clause = r.next().text.toUpperCase();
    if (clause !== 'SET' && clause !== 'REMOVE') r.fail(`${clause} clauses are not supported`);
    do {
      if (r.peek()?.text === ',') r.next();
      const path = r.path();
      if (clause === 'REMOVE') removes.push(path);
      else {
        r.expect('=');
        // Every value reads the item as it was before the update, as DynamoDB does.
        sets.push([path, updateValue(r, item)]);
      }
    } while (r.peek()?.text === ',');
  }
  for (const [path, value] of sets) setPath(next, path, value);
  for (const path of removes) removePath(next, path);
  return next;
}

// ---- the client -----------------------------------------------------------------------------

interface ConditionalInput {
  ConditionExpression?: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Values;
}

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed (dry run)', $metadata: {} });

/** Every state write the overlay took, in order. */
export interface StateOverlay {
  client: DynamoDBDocumentClient;
  /** Items as the overlay holds them (null: deleted), by `pk / sk`. */
  items: ReadonlyMap<string, Item | null>;
}

/**
 * An overlay over `real` (the state store's own client). Each write is passed to `record` as a
 * `state` RecordedWrite.
 */
export function stateOverlay(real: Sender, record: (write: RecordedWrite) => void): StateOverlay {
  const items = new Map<string, Item | null>();

  async function load(tableName: string, key: Item): Promise<Item | undefined> {
    const held = items.get(keyOf(key));
    if (held !== undefined) return held ?? undefined;
    const out = (await real.send(
      new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
    )) as { Item?: Item };
    return out.Item;
  }

  async function write(
    tableName: string,
    key: Item,
    operation: 'put' | 'update' | 'delete',
    input: ConditionalInput,
    change: (current: Item | undefined) => Item | null,
  ): Promise<{ before: Item | undefined; after: Item | null }> {
    const before = await load(tableName, key);
    const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = input;
    if (!meetsCondition(ConditionExpression, before, ExpressionAttributeNames, ExpressionAttributeValues)) {
      throw conditionFailed();
    }
    const after = change(before);
    items.set(keyOf(key), after);
    record({ kind: 'state', operation, key: keyOf(key) });
    return { before, after };
  }

  const put = (tableName: string, item: Item, input: ConditionalInput = {}) =>
    write(tableName, { pk: item.pk, sk: item.sk }, 'put', input, () => structuredClone(item));
  const remove = (tableName: string, key: Item, input: ConditionalInput = {}) =>
    write(tableName, key, 'delete', input, () => null);

  async function send(command: unknown): Promise<unknown> {
    if (command instanceof GetCommand) {
      const { Key } = command.input;
      const held = items.get(keyOf(Key as Item));
      if (held !== undefined) return held ? { Item: structuredClone(held) } : {};
      return real.send(command);
    }
    if (command instanceof BatchGetCommand) {
      const responses: Record<string, Item[]> = {};
      const rest: Record<string, { Keys: Item[]; ConsistentRead?: boolean }> = {};
      for (const [table, request] of Object.entries(command.input.RequestItems ?? {})) {
        const keys = (request.Keys ?? []) as Item[];
        responses[table] = keys
          .map((k) => items.get(keyOf(k)))
          .filter((i): i is Item => !!i)
          .map((i) => structuredClone(i));
        const unheld = keys.filter((k) => !items.has(keyOf(k)));
        if (unheld.length > 0) rest[table] = { ...request, Keys: unheld };
      }
      if (Object.keys(rest).length === 0) return { Responses: responses, UnprocessedKeys: {} };
      const out = (await real.send(new BatchGetCommand({ RequestItems: rest }))) as {
        Responses?: Record<string, Item[]>;
        UnprocessedKeys?: unknown;
      };
      for (const [table, found] of Object.entries(out.Responses ?? {})) {
        responses[table] = [...(responses[table] ?? []), ...found];
      }
      return { Responses: responses, UnprocessedKeys: out.UnprocessedKeys ?? {} };
    }
    if (command instanceof QueryCommand) {
      const out = (await real.send(command)) as { Items?: Item[] };
      return {
        ...out,
        Items: (out.Items ?? []).flatMap((item) => {
          const held = items.get(keyOf(item));
          if (held === undefined) return [item];
          return held ? [structuredClone(held)] : [];
        }),
      };
    }
    if (command instanceof PutCommand) {
      const { TableName, Item: item, ...input } = command.input;
      await put(TableName as string, item as Item, input);
      return {};
    }
    if (command instanceof DeleteCommand) {
      const { TableName, Key, ...input } = command.input;
      await remove(TableName as string, Key as Item, input);
      return {};
    }
    if (command instanceof UpdateCommand) {
      const { TableName, Key, UpdateExpression, ReturnValues, ...input } = command.input;
      if (!UpdateExpression) throw new DryRunStateError('dry run: UpdateCommand without an UpdateExpression');
      const key = Key as Item;
      const { before, after } = await write(TableName as string, key, 'update', input, (current) =>
        applyUpdate(
          UpdateExpression,
          current ?? { ...key },
          input.ExpressionAttributeNames,
          input.ExpressionAttributeValues,
        ),
      );
      if (ReturnValues === 'ALL_NEW') return { Attributes: structuredClone(after ?? undefined) };
      if (ReturnValues === 'ALL_OLD') return { Attributes: before };
      return {};
    }
    if (command instanceof BatchWriteCommand) {
      for (const [table, requests] of Object.entries(command.input.RequestItems ?? {})) {
        for (const request of requests) {
          if (request.PutRequest) await put(table, request.PutRequest.Item as Item);
          else if (request.DeleteRequest) await remove(table, request.DeleteRequest.Key as Item);
        }
      }
      return { UnprocessedItems: {} };
    }
    const name = (command as { constructor?: { name?: string } })?.constructor?.name ?? typeof command;
    throw new DryRunStateError(`dry run: ${name} is not supported by the state overlay`);
  }

  // The state store only ever calls `send`.
  return { client: { send } as unknown as DynamoDBDocumentClient, items };
}
