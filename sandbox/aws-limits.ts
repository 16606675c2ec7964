/**
 * AWS limits the local engines do not enforce, enforced in front of them, so that the sandbox and
 * the tests see what AWS would refuse, with AWS's error names and messages:
 * - SQS (checked in front of the local SQS engine, sqs-server.ts): a message over 262,144
 *   bytes (body + attribute names, types and values) is `InvalidParameterValue`, a batch request
 *   whose messages add up to more is `AWS.SimpleQueueService.BatchRequestTooLong`;
 * - DynamoDB (dynalite counts characters, not UTF-8 bytes): a partition key over 2,048 bytes, a
 *   sort key over 1,024 bytes, an item over 400 KB are `ValidationException`s.
 *
 * How (DynamoDB): the engine's own request listener is wrapped in place. The wrapper reads the whole body
 * (a client that disconnects mid-body is dropped, never crashing the engine), checks it, and either
 * answers the refusal or hands the engine a copy of the request. The engine keeps its server, its
 * port (queue URLs name it) and its close().
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  DYNAMO_MAX_ITEM_BYTES,
  DYNAMO_MAX_PARTITION_KEY_BYTES,
  DYNAMO_MAX_SORT_KEY_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  utf8Bytes,
} from '../functions/core/limits.ts';

/** A request AWS would refuse: the JSON-protocol error it answers with. */
export interface AwsRefusal {
  /** `__type`, e.g. `com.amazon.coral.validate#ValidationException`. */
  type: string;
  message: string;
  /** SQS (query-compatible JSON protocol): the `x-amzn-query-error` code, e.g. `InvalidParameterValue`. */
  queryError?: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The X-Amz-Target operation (`AmazonSQS.SendMessage` -> `SendMessage`) and the parsed JSON body. */
export type LimitCheck = (operation: string, body: unknown) => Promise<AwsRefusal | undefined>;

function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = Readable.from(body.length > 0 ? [body] : []) as unknown as IncomingMessage;
  return Object.assign(copy, {
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    socket: req.socket,
  });
}

function refuse(res: ServerResponse, refusal: AwsRefusal): void {
  const body = JSON.stringify({ __type: refusal.type, message: refusal.message });
  res.statusCode = 400;
  res.setHeader('content-type', 'application/x-amz-json-1.0');
  if (refusal.queryError) res.setHeader('x-amzn-query-error', `${refusal.queryError};Sender`);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** Put `check` in front of the engine's request listener (see the header comment). */
export function enforceLimits(server: Server, check: LimitCheck): void {
  const engine = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let parsed: unknown;
      try {
        parsed = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
      } catch {
        parsed = undefined; // the engine answers malformed bodies itself
      }
      check(operation, parsed)
        .then((refusal) => {
          if (refusal) return refuse(res, refusal);
          for (const listener of engine) listener(replay(req, body), res);
        })
        .catch(() => res.destroy());
    });
  });
}

// ---- SQS ------------------------------------------------------------------------------------

interface SqsEntry {
  MessageBody?: unknown;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: string }>;
}

/** A message's size as SQS counts it: body plus each attribute's name, data type and value. */
export function sqsMessageBytes(entry: SqsEntry): number {
  let bytes = typeof entry.MessageBody === 'string' ? utf8Bytes(entry.MessageBody) : 0;
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += utf8Bytes(name) + utf8Bytes(value?.DataType ?? '') + utf8Bytes(value?.StringValue ?? '');
    if (typeof value?.BinaryValue === 'string') bytes += Buffer.from(value.BinaryValue, 'base64').length;
  }
  return bytes;
}

export const sqsLimits: LimitCheck = async (operation, body) => {
  if (!isObject(body)) return undefined;
  if (operation === 'SendMessage' && sqsMessageBytes(body as SqsEntry) > SQS_MAX_MESSAGE_BYTES) {
    return {
      type: 'com.amazonaws.sqs#InvalidParameterValueException',
      queryError: 'InvalidParameterValue',
      message: `One or more parameters are invalid. Reason: Message must be shorter than ${SQS_MAX_MESSAGE_BYTES} bytes.`,
    };
  }
  if (operation === 'SendMessageBatch' && Array.isArray(body.Entries)) {
    const total = (body.Entries as SqsEntry[]).reduce((n, e) => n + sqsMessageBytes(e), 0);
    if (total > SQS_MAX_MESSAGE_BYTES) {
      return {
        type: 'com.amazonaws.sqs#BatchRequestTooLong',
        queryError: 'AWS.SimpleQueueService.BatchRequestTooLong',
        message: `Batch requests cannot be longer than ${SQS_MAX_MESSAGE_BYTES} bytes. You have sent ${total} bytes.`,
      };
    }
  }
  return undefined;
};

// ---- DynamoDB -------------------------------------------------------------------------------

type AttributeValue = Record<string, unknown>;

/** An attribute value's size as DynamoDB counts it (strings and names in UTF-8 bytes). */
function valueBytes(value: unknown): number {
  if (!isObject(value)) return 0;
  const [type, v] = Object.entries(value)[0] ?? [];
  switch (type) {
    case 'S':
      return utf8Bytes(String(v));
    case 'N':
      return Math.ceil(String(v).replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
    case 'B':
      return Buffer.from(String(v), 'base64').length;
    case 'SS':
      return (v as string[]).reduce((n, s) => n + utf8Bytes(s), 0);
    case 'NS':
      return (v as string[]).reduce((n, s) => n + valueBytes({ N: s }), 0);
    case 'BS':
      return (v as string[]).reduce((n, s) => n + Buffer.from(s, 'base64').length, 0);
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'L':
      return 3 + (v as unknown[]).reduce<number>((n, e) => n + 1 + valueBytes(e), 0);
    case 'M':
      return 3 + itemBytes(v as Record<string, unknown>) + Object.keys(v as object).length;
    default:
      return 0;
  }
}

export const itemBytes = (item: Record<string, unknown>): number =>
  Object.entries(item).reduce((n, [name, value]) => n + utf8Bytes(name) + valueBytes(value), 0);

const validation = (message: string): AwsRefusal => ({
  type: 'com.amazon.coral.validate#ValidationException',
  message,
});

/** The table's key attribute names, as DescribeTable would give them. */
export type KeySchemaOf = (table: string) => Promise<{ hash: string; range?: string } | undefined>;

function keyProblem(
  key: Record<string, unknown>,
  schema: { hash: string; range?: string },
): AwsRefusal | undefined {
  const size = (name: string | undefined) => {
    const value = name === undefined ? undefined : (key[name] as AttributeValue | undefined);
    if (!value) return 0;
    if (typeof value.S === 'string') return utf8Bytes(value.S);
    if (typeof value.B === 'string') return Buffer.from(value.B, 'base64').length;
    return 0; // numbers always fit
  };
  if (size(schema.hash) > DYNAMO_MAX_PARTITION_KEY_BYTES) {
    return validation(
      `One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of ${DYNAMO_MAX_PARTITION_KEY_BYTES} bytes`,
    );
  }
  if (size(schema.range) > DYNAMO_MAX_SORT_KEY_BYTES) {
    return validation(
      `One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of ${DYNAMO_MAX_SORT_KEY_BYTES} bytes`,
    );
  }
  return undefined;
}

const itemProblem = (item: Record<string, unknown>): AwsRefusal | undefined =>
  itemBytes(item) > DYNAMO_MAX_ITEM_BYTES
    ? validation('Item size has exceeded the maximum allowed size')
    : undefined;

/** Every (table, key or item) a request writes or reads by key. */
function targets(operation: string, body: Json): { table: string; key?: Json; item?: Json }[] {
  const table = String(body.TableName ?? '');
  switch (operation) {
    case 'PutItem':
      return isObject(body.Item) ? [{ table, key: body.Item, item: body.Item }] : [];
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return isObject(body.Key) ? [{ table, key: body.Key }] : [];
    case 'BatchWriteItem':
      return Object.entries(isObject(body.RequestItems) ? body.RequestItems : {}).flatMap(([t, requests]) =>
        (Array.isArray(requests) ? requests : []).flatMap((r: Json) => {
          const put = isObject(r.PutRequest) && isObject(r.PutRequest.Item) ? r.PutRequest.Item : undefined;
          const del =
            isObject(r.DeleteRequest) && isObject(r.DeleteRequest.Key) ? r.DeleteRequest.Key : undefined;
          return put ? [{ table: t, key: put, item: put }] : del ? [{ table: t, key: del }] : [];
        }),
      );
    case 'BatchGetItem':
      return Object.entries(isObject(body.RequestItems) ? body.RequestItems : {}).flatMap(([t, request]) =>
        (isObject(request) && Array.isArray(request.Keys) ? request.Keys : []).map((k: Json) => ({
          table: t,
          key: k,
        })),
      );
    case 'TransactWriteItems':
      return (Array.isArray(body.TransactItems) ? body.TransactItems : []).flatMap((t: Json) => {
        const op = (
          isObject(t.Put)
            ? t.Put
            : isObject(t.Update)
              ? t.Update
              : isObject(t.Delete)
                ? t.Delete
                : t.ConditionCheck
        ) as Json | undefined;
        if (!isObject(op)) return [];
        const item = isObject(op.Item) ? op.Item : undefined;
        const key = item ?? (isObject(op.Key) ? op.Key : undefined);
        return key ? [{ table: String(op.TableName ?? ''), key, ...(item ? { item } : {}) }] : [];
      });
    default:
      return [];
  }
}

export function dynamoLimits(keySchemaOf: KeySchemaOf): LimitCheck {
  return async (operation, body) => {
    if (!isObject(body)) return undefined;
    for (const { table, key, item } of targets(operation, body)) {
      if (item) {
        const problem = itemProblem(item);
        if (problem) return problem;
      }
      const schema = key ? await keySchemaOf(table) : undefined;
      const problem = key && schema ? keyProblem(key, schema) : undefined;
      if (problem) return problem;
    }
    return undefined;
  };
}
