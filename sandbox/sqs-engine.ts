/**
 * The local SQS's queues and messages: standard queues with AWS's semantics for what Millwright
 * uses (visibility timeouts, delays, receive counts, redrive to a DLQ, retention, purge), and every
 * change journaled (sqs-journal.ts) before the operation returns, so an acknowledged send, a delete,
 * a visibility change or a receive count survives a SIGKILL of the sandbox.
 *
 * Why our own engine rather than local-aws-sqs: that package keeps its queues in private fields with
 * no hook to persist or restore them, its long poll waits the full WaitTimeSeconds even when a
 * message arrives, and it reads only the older `AttributeNames` parameter. Standard queues are all
 * Millwright uses, so the engine is small; FIFO queues are refused.
 *
 * The engine is protocol-free (sqs-server.ts speaks the JSON protocol over HTTP); operations take
 * and return the JSON protocol's shapes, and fail with SqsError carrying AWS's error names.
 * Times are wall-clock milliseconds (`now`, injectable for tests) so that a restart continues the
 * visibility timeouts and delays where they were.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { MillwrightError } from '../functions/core/errors.ts';
import type { Journal } from './sqs-journal.ts';

/** An SQS error as the JSON protocol reports it: `__type` name, query-compatible code, HTTP status. */
export class SqsError extends MillwrightError {
  constructor(
    /** The short name, e.g. `QueueDoesNotExist` (the `__type` after `#`). */
    readonly type: string,
    /** The query-compatible code (`x-amzn-query-error`), e.g. `AWS.SimpleQueueService.NonExistentQueue`. */
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const invalid = (message: string) =>
  new SqsError('InvalidParameterValueException', 'InvalidParameterValue', message);
const missing = (name: string) =>
  new SqsError('MissingParameter', 'MissingParameter', `The request must contain the parameter ${name}.`);
const noQueue = () =>
  new SqsError(
    'QueueDoesNotExist',
    'AWS.SimpleQueueService.NonExistentQueue',
    'The specified queue does not exist.',
  );
const badHandle = (handle: string) =>
  new SqsError(
    'ReceiptHandleIsInvalid',
    'ReceiptHandleIsInvalid',
    `The input receipt handle "${handle}" is not a valid receipt handle.`,
  );

export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

interface StoredMessage {
  id: string;
  body: string;
  md5: string;
  attrs?: Record<string, MessageAttribute>;
  sentAt: number;
  /** When it can be received (send time + delay, or receive time + visibility timeout). */
  visibleAt: number;
  count: number;
  firstAt?: number;
  /** The nonce of the current receive: only its receipt handle changes or deletes the message. */
  handle?: string;
}

interface QueueAttributes {
  VisibilityTimeout: number;
  DelaySeconds: number;
  MessageRetentionPeriod: number;
  ReceiveMessageWaitTimeSeconds: number;
  MaximumMessageSize: number;
  RedrivePolicy?: string;
}

interface Queue {
  name: string;
  attributes: QueueAttributes;
  createdAt: number;
  modifiedAt: number;
  /** In send order (Map keeps insertion order): receives take the oldest visible first. */
  messages: Map<string, StoredMessage>;
}

type JournalRecord =
  | { t: 'queue'; name: string; attributes: QueueAttributes; createdAt: number; modifiedAt: number }
  | ({ t: 'msg'; q: string } & StoredMessage)
  | { t: 'recv'; q: string; id: string; handle: string; count: number; firstAt: number; visibleAt: number }
  | { t: 'vis'; q: string; id: string; visibleAt: number }
  | { t: 'del'; q: string; id: string }
  | { t: 'purge'; q: string }
  | { t: 'move'; q: string; to: string; id: string; visibleAt: number };

type Json = Record<string, unknown>;

const DEFAULTS: QueueAttributes = {
  VisibilityTimeout: 30,
  DelaySeconds: 0,
  MessageRetentionPeriod: 345_600,
  ReceiveMessageWaitTimeSeconds: 0,
  MaximumMessageSize: 262_144,
};

/** Integer attribute ranges, as AWS validates them. */
const RANGES: Record<Exclude<keyof QueueAttributes, 'RedrivePolicy'>, [number, number]> = {
  VisibilityTimeout: [0, 43_200],
  DelaySeconds: [0, 900],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  MaximumMessageSize: [1024, 262_144],
};

const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
] as const;

export const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/**
 * MD5OfMessageAttributes as SQS documents it: for each attribute, by name: the name, the data type
 * (each a 4-byte big-endian length then UTF-8 bytes), a transport byte (1 string, 2 binary), then the
 * value (length then bytes).
 */
export function md5OfMessageAttributes(attrs: Record<string, MessageAttribute>): string {
  const parts: Buffer[] = [];
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of Object.keys(attrs).sort()) {
    const a = attrs[name] as MessageAttribute;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(a.DataType, 'utf8'));
    if (a.DataType.startsWith('Binary')) {
      parts.push(Buffer.from([2]));
      field(Buffer.from(a.BinaryValue ?? '', 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      field(Buffer.from(a.StringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(parts));
}

// Characters SQS accepts in a message (#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000+).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the point.
const INVALID_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function integer(value: unknown, name: string, [min, max]: [number, number]): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalid(
      `Value ${String(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return n;
}

function checkRedrivePolicy(text: unknown): string {
  const reason = (why: string) =>
    invalid(`Value ${String(text)} for parameter RedrivePolicy is invalid. Reason: ${why}`);
  let policy: Json;
  try {
    policy = JSON.parse(String(text)) as Json;
  } catch {
    throw reason('Redrive policy is not a valid JSON map.');
  }
  if (typeof policy !== 'object' || policy === null) throw reason('Redrive policy is not a valid JSON map.');
  const count = Number(policy.maxReceiveCount);
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw reason(
      `Invalid value for maxReceiveCount: ${String(policy.maxReceiveCount)}, valid values are from 1 to 1000 both inclusive.`,
    );
  }
  const arn = String(policy.deadLetterTargetArn ?? '');
  if (arn.split(':').length !== 6 || !arn.startsWith('arn:')) {
    throw reason('Dead-letter target ARN should be fully qualified ARN.');
  }
  return JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: count });
}

function queueAttributes(given: unknown, base: QueueAttributes): QueueAttributes {
  const out: QueueAttributes = { ...base };
  for (const [name, value] of Object.entries((given ?? {}) as Json)) {
    if (name === 'RedrivePolicy') {
      if (value === '' || value === undefined) delete out.RedrivePolicy;
      else out.RedrivePolicy = checkRedrivePolicy(value);
    } else if (name in RANGES) {
      const key = name as keyof typeof RANGES;
      out[key] = integer(value, name, RANGES[key]);
    } else if (name === 'FifoQueue') {
      throw invalid('FIFO queues are not supported by the local SQS (Millwright uses standard queues).');
    } else if (!['Policy', 'SqsManagedSseEnabled', 'KmsMasterKeyId', 'RedriveAllowPolicy'].includes(name)) {
      throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
  }
  return out;
}

/** Receipt handles are opaque to clients: queue, message and receive nonce, base64url. */
const encodeHandle = (queue: string, id: string, nonce: string) =>
  Buffer.from(`${queue}|${id}|${nonce}`, 'utf8').toString('base64url');
function decodeHandle(handle: unknown): { queue: string; id: string; nonce: string } {
  if (typeof handle !== 'string' || handle === '') throw missing('ReceiptHandle');
  const [queue, id, nonce, extra] = Buffer.from(handle, 'base64url').toString('utf8').split('|');
  if (!queue || !id || !nonce || extra !== undefined) throw badHandle(handle);
  return { queue, id, nonce };
}

function checkEntries(entries: unknown): Json[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new SqsError(
      'EmptyBatchRequest',
      'AWS.SimpleQueueService.EmptyBatchRequest',
      'There should be at least one entry in the request.',
    );
  }
  if (entries.length > 10) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
    );
  }
  const ids = new Set<string>();
  for (const entry of entries as Json[]) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !/^[\w-]{1,80}$/.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'AWS.SimpleQueueService.InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(id)) {
      throw new SqsError(
        'BatchEntryIdsNotDistinct',
        'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
        `Id ${id} repeated.`,
      );
    }
    ids.add(id);
  }
  return entries as Json[];
}

const failure = (id: unknown, error: unknown) => {
  const e = error instanceof SqsError ? error : invalid(String((error as Error)?.message ?? error));
  return { Id: id, Code: e.code, Message: e.message, SenderFault: true };
};

export interface SqsEngineOptions {
  /** Where queue URLs point (the server's address); may be set after construction. */
  baseUrl: string;
  region: string;
  account: string;
  /** The journal (none: in memory). */
  journal?: Journal;
  /** Wall-clock milliseconds (tests pass a fake). */
  now?: () => number;
  /** Compact the journal when it has grown past this many bytes and twice the live state. */
  compactAfterBytes?: number;
}

export class SqsEngine {
  readonly queues = new Map<string, Queue>();
  /** Emits `message` (queue name) when a queue may have a message to receive. */
  readonly events = new EventEmitter();
  baseUrl: string;
  private readonly now: () => number;
  private liveBytes = 0;

  constructor(private readonly options: SqsEngineOptions) {
    this.baseUrl = options.baseUrl;
    this.now = options.now ?? Date.now;
    this.events.setMaxListeners(0);
  }

  // ---- persistence ------------------------------------------------------------------------

  /** Rebuild the queues from journal records (in order), as they were when the last was written. */
  replay(records: readonly unknown[]): void {
    for (const record of records as JournalRecord[]) {
      const queue = 'q' in record ? this.queues.get(record.q) : undefined;
      switch (record.t) {
        case 'queue': {
          const existing = this.queues.get(record.name);
          this.queues.set(record.name, {
            name: record.name,
            attributes: record.attributes,
            createdAt: record.createdAt,
            modifiedAt: record.modifiedAt,
            messages: existing?.messages ?? new Map(),
          });
          break;
        }
        case 'msg': {
          const { t: _t, q: _q, ...message } = record;
          queue?.messages.set(message.id, message);
          break;
        }
        case 'recv': {
          const m = queue?.messages.get(record.id);
          if (m)
            Object.assign(m, {
              handle: record.handle,
              count: record.count,
              firstAt: record.firstAt,
              visibleAt: record.visibleAt,
            });
          break;
        }
        case 'vis': {
          const m = queue?.messages.get(record.id);
          if (m) m.visibleAt = record.visibleAt;
          break;
        }
        case 'del':
          queue?.messages.delete(record.id);
          break;
        case 'purge':
          queue?.messages.clear();
          break;
        case 'move': {
          const m = queue?.messages.get(record.id);
          queue?.messages.delete(record.id);
          const to = this.queues.get(record.to);
          if (m && to) to.messages.set(m.id, { ...m, visibleAt: record.visibleAt, handle: undefined });
          break;
        }
      }
    }
  }

  /** The live state as journal records: what compaction writes. */
  snapshot(): JournalRecord[] {
    const out: JournalRecord[] = [];
    for (const q of this.queues.values()) {
      out.push({
        t: 'queue',
        name: q.name,
        attributes: q.attributes,
        createdAt: q.createdAt,
        modifiedAt: q.modifiedAt,
      });
    }
    const now = this.now();
    for (const q of this.queues.values()) {
      for (const m of q.messages.values()) {
        if (m.sentAt + q.attributes.MessageRetentionPeriod * 1000 > now)
          out.push({ t: 'msg', q: q.name, ...m });
      }
    }
    return out;
  }

  /** Per queue, the messages past their retention period now (those the next compaction drops). */
  expired(): { queue: string; messages: number }[] {
    const now = this.now();
    const out: { queue: string; messages: number }[] = [];
    for (const q of this.queues.values()) {
      const limit = q.attributes.MessageRetentionPeriod * 1000;
      let messages = 0;
      for (const m of q.messages.values()) if (m.sentAt + limit <= now) messages++;
      if (messages > 0) out.push({ queue: q.name, messages });
    }
    return out;
  }

  /** Rewrite the journal as the live state (at start, and when it has grown well past it). */
  compact(): void {
    const journal = this.options.journal;
    if (!journal) return;
    const records = this.snapshot();
    journal.rewrite(records);
    this.liveBytes = records.reduce((n, r) => n + JSON.stringify(r).length + 1, 0);
  }

  /**
   * Journal `records`, then `apply` them to the live state, then compact if due. In that order: a
   * compaction writes the live state, so one run between the append and the apply would drop what
   * was just appended (an acknowledged send, a delete) from the journal.
   */
  private write(records: JournalRecord[], apply: () => void): void {
    const journal = this.options.journal;
    if (journal && records.length > 0) journal.append(records);
    apply();
    if (!journal || records.length === 0) return;
    const limit = this.options.compactAfterBytes ?? 16 * 1024 * 1024;
    if (journal.appendedBytes > limit && journal.appendedBytes > 2 * this.liveBytes) {
      try {
        this.compact();
      } catch {
        // The write is journaled and applied: failing it now (a full disk refusing the copy) would
        // tell the sender to send again what is already queued. The old journal stands; a later
        // write tries again.
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  urlOf(name: string): string {
    return `${this.baseUrl}/${this.options.account}/${name}`;
  }

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.options.region}:${this.options.account}:${name}`;
  }

  /** The queue a QueueUrl names (its last path segment, whatever host and port it gives). */
  private queue(url: unknown): Queue {
    if (typeof url !== 'string' || url === '') throw missing('QueueUrl');
    let name = url;
    try {
      name = new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? '';
    } catch {
      // A bare queue name is accepted too.
    }
    const queue = this.queues.get(name);
    if (!queue) throw noQueue();
    return queue;
  }

  /** Drop messages past the queue's retention period (AWS deletes them; nobody is told). */
  private expire(queue: Queue, now: number): void {
    const limit = queue.attributes.MessageRetentionPeriod * 1000;
    for (const m of queue.messages.values()) {
      if (m.sentAt + limit <= now) queue.messages.delete(m.id);
    }
  }

  private newMessage(queue: Queue, entry: Json, now: number): StoredMessage {
    const body = entry.MessageBody;
    if (typeof body !== 'string' || body === '') throw missing('MessageBody');
    if (INVALID_CHARS.test(body)) {
      throw new SqsError(
        'InvalidMessageContents',
        'InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      );
    }
    if (entry.MessageGroupId !== undefined || entry.MessageDeduplicationId !== undefined) {
      throw invalid('The request include parameter that is not valid for this queue type');
    }
    const delay =
      entry.DelaySeconds === undefined || entry.DelaySeconds === null
        ? queue.attributes.DelaySeconds
        : integer(entry.DelaySeconds, 'DelaySeconds', [0, 900]);
    const attrs = this.messageAttributes(entry.MessageAttributes);
    return {
      id: randomUUID(),
      body,
      md5: md5(body),
      ...(attrs ? { attrs } : {}),
      sentAt: now,
      visibleAt: now + delay * 1000,
      count: 0,
    };
  }

  private messageAttributes(given: unknown): Record<string, MessageAttribute> | undefined {
    if (given === undefined || given === null) return undefined;
    const entries = Object.entries(given as Record<string, Json>);
    if (entries.length === 0) return undefined;
    if (entries.length > 10)
      throw invalid(`Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`);
    const out: Record<string, MessageAttribute> = {};
    for (const [name, value] of entries) {
      const type = value?.DataType;
      if (typeof type !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(type)) {
        throw invalid(`The type of message (user) attribute '${name}' is invalid.`);
      }
      if (type.startsWith('Binary')) {
        if (typeof value.BinaryValue !== 'string')
          throw invalid(`The message attribute '${name}' must contain a non-empty message attribute value.`);
        out[name] = { DataType: type, BinaryValue: value.BinaryValue };
      } else {
        if (typeof value.StringValue !== 'string' || value.StringValue === '') {
          throw invalid(
            `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${type}'.`,
          );
        }
        if (type.startsWith('Number') && !Number.isFinite(Number(value.StringValue))) {
          throw invalid(`Can't cast the value of message (user) attribute '${name}' to a number.`);
        }
        out[name] = { DataType: type, StringValue: value.StringValue };
      }
    }
    return out;
  }

  private sent(queue: Queue, messages: StoredMessage[]): void {
    this.write(
      messages.map((m) => ({ t: 'msg', q: queue.name, ...m })),
      () => {
        for (const m of messages) queue.messages.set(m.id, m);
      },
    );
    this.wake(queue);
  }

  /** Tell waiting receivers a message may be there now (or at its visibleAt: they re-check then). */
  private wake(queue: Queue): void {
    this.events.emit('message', queue.name);
  }

  // ---- operations ---------------------------------------------------------------------------

  createQueue(body: Json): Json {
    const name = body.QueueName;
    if (typeof name !== 'string' || name === '') throw missing('QueueName');
    if (name.endsWith('.fifo')) throw invalid('FIFO queues are not supported by the local SQS.');
    if (!/^[\w-]{1,80}$/.test(name)) {
      throw invalid('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const attributes = queueAttributes(body.Attributes, DEFAULTS);
    const existing = this.queues.get(name);
    if (existing) {
      const differs = (Object.keys(body.Attributes ?? {}) as (keyof QueueAttributes)[]).find(
        (k) => k in attributes && existing.attributes[k] !== attributes[k],
      );
      if (differs) {
        throw new SqsError(
          'QueueNameExists',
          'QueueAlreadyExists',
          `A queue already exists with the same name and a different value for attribute ${differs}`,
        );
      }
      return { QueueUrl: this.urlOf(name) };
    }
    const now = this.now();
    const record = { t: 'queue' as const, name, attributes, createdAt: now, modifiedAt: now };
    this.write([record], () =>
      this.queues.set(name, { name, attributes, createdAt: now, modifiedAt: now, messages: new Map() }),
    );
    return { QueueUrl: this.urlOf(name) };
  }

  setQueueAttributes(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    const attributes = queueAttributes(body.Attributes, queue.attributes);
    const now = this.now();
    this.write(
      [{ t: 'queue', name: queue.name, attributes, createdAt: queue.createdAt, modifiedAt: now }],
      () => {
        queue.attributes = attributes;
        queue.modifiedAt = now;
      },
    );
    return {};
  }

  getQueueUrl(body: Json): Json {
    const name = body.QueueName;
    if (typeof name !== 'string' || name === '') throw missing('QueueName');
    if (!this.queues.has(name)) throw noQueue();
    return { QueueUrl: this.urlOf(name) };
  }

  listQueues(body: Json): Json {
    const prefix = typeof body.QueueNamePrefix === 'string' ? body.QueueNamePrefix : '';
    const max = body.MaxResults === undefined ? 1000 : integer(body.MaxResults, 'MaxResults', [1, 1000]);
    return {
      QueueUrls: [...this.queues.keys()]
        .filter((n) => n.startsWith(prefix))
        .slice(0, max)
        .map((n) => this.urlOf(n)),
    };
  }

  getQueueAttributes(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    const now = this.now();
    this.expire(queue, now);
    const requested = Array.isArray(body.AttributeNames) ? (body.AttributeNames as string[]) : [];
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of queue.messages.values()) {
      if (m.visibleAt <= now) visible++;
      else if (m.count === 0) delayed++;
      else inFlight++;
    }
    const all: Record<string, string> = {
      QueueArn: this.arnOf(queue.name),
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.modifiedAt / 1000)),
      VisibilityTimeout: String(queue.attributes.VisibilityTimeout),
      DelaySeconds: String(queue.attributes.DelaySeconds),
      MessageRetentionPeriod: String(queue.attributes.MessageRetentionPeriod),
      ReceiveMessageWaitTimeSeconds: String(queue.attributes.ReceiveMessageWaitTimeSeconds),
      MaximumMessageSize: String(queue.attributes.MaximumMessageSize),
      SqsManagedSseEnabled: 'false',
      ...(queue.attributes.RedrivePolicy ? { RedrivePolicy: queue.attributes.RedrivePolicy } : {}),
    };
    const names = requested.includes('All') ? Object.keys(all) : requested;
    for (const n of names) {
      if (!(n in all) && n !== 'RedrivePolicy' && !n.startsWith('Policy') && !n.startsWith('Kms')) {
        throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${n}.`);
      }
    }
    const out = Object.fromEntries(names.filter((n) => n in all).map((n) => [n, all[n] as string]));
    return Object.keys(out).length > 0 ? { Attributes: out } : {};
  }

  sendMessage(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    const message = this.newMessage(queue, body, this.now());
    this.sent(queue, [message]);
    return {
      MessageId: message.id,
      MD5OfMessageBody: message.md5,
      ...(message.attrs ? { MD5OfMessageAttributes: md5OfMessageAttributes(message.attrs) } : {}),
    };
  }

  sendMessageBatch(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    const entries = checkEntries(body.Entries);
    const now = this.now();
    const Successful: Json[] = [];
    const Failed: Json[] = [];
    const messages: StoredMessage[] = [];
    for (const entry of entries) {
      try {
        const m = this.newMessage(queue, entry, now);
        messages.push(m);
        Successful.push({
          Id: entry.Id,
          MessageId: m.id,
          MD5OfMessageBody: m.md5,
          ...(m.attrs ? { MD5OfMessageAttributes: md5OfMessageAttributes(m.attrs) } : {}),
        });
      } catch (error) {
        Failed.push(failure(entry.Id, error));
      }
    }
    this.sent(queue, messages);
    return { Successful, Failed };
  }

  /** Receive now (no waiting): up to `max` visible messages, oldest first, redriving worn-out ones. */
  private receiveNow(queue: Queue, body: Json, max: number, visibility: number): Json[] {
    const now = this.now();
    this.expire(queue, now);
    const redrive = queue.attributes.RedrivePolicy
      ? (JSON.parse(queue.attributes.RedrivePolicy) as {
          deadLetterTargetArn: string;
          maxReceiveCount: number;
        })
      : undefined;
    const dlq = redrive ? this.queues.get(redrive.deadLetterTargetArn.split(':').at(-1) ?? '') : undefined;
    const records: JournalRecord[] = [];
    const taken: StoredMessage[] = [];
    const moved: StoredMessage[] = [];
    for (const m of queue.messages.values()) {
      if (taken.length >= max) break;
      if (m.visibleAt > now) continue;
      // As SQS: a message received maxReceiveCount times goes to the DLQ instead of a further receive.
      if (redrive && dlq && m.count >= redrive.maxReceiveCount) {
        records.push({ t: 'move', q: queue.name, to: dlq.name, id: m.id, visibleAt: now });
        moved.push(m);
        continue;
      }
      const handle = randomUUID();
      const firstAt = m.firstAt ?? now;
      const visibleAt = now + visibility * 1000;
      records.push({ t: 'recv', q: queue.name, id: m.id, handle, count: m.count + 1, firstAt, visibleAt });
      taken.push(m);
    }
    this.write(records, () => {
      for (const m of moved) {
        queue.messages.delete(m.id);
        dlq?.messages.set(m.id, { ...m, visibleAt: now, handle: undefined });
      }
      for (const r of records) {
        if (r.t !== 'recv') continue;
        const m = queue.messages.get(r.id) as StoredMessage;
        Object.assign(m, { handle: r.handle, count: r.count, firstAt: r.firstAt, visibleAt: r.visibleAt });
      }
    });
    if (moved.length > 0 && dlq) this.wake(dlq);
    return taken.map((m) => this.view(queue, m, body));
  }

  /** A received message as ReceiveMessage returns it, with the attributes asked for. */
  private view(queue: Queue, m: StoredMessage, body: Json): Json {
    const asked = new Set([
      ...(Array.isArray(body.AttributeNames) ? (body.AttributeNames as string[]) : []),
      ...(Array.isArray(body.MessageSystemAttributeNames)
        ? (body.MessageSystemAttributeNames as string[])
        : []),
    ]);
    const values: Record<(typeof SYSTEM_ATTRIBUTES)[number], string> = {
      SenderId: this.options.account,
      SentTimestamp: String(m.sentAt),
      ApproximateReceiveCount: String(m.count),
      ApproximateFirstReceiveTimestamp: String(m.firstAt ?? m.sentAt),
    };
    const system = SYSTEM_ATTRIBUTES.filter((n) => asked.has('All') || asked.has(n));
    const names = Array.isArray(body.MessageAttributeNames) ? (body.MessageAttributeNames as string[]) : [];
    const wanted = (name: string) =>
      names.some(
        (n) =>
          n === 'All' || n === '.*' || n === name || (n.endsWith('.*') && name.startsWith(n.slice(0, -1))),
      );
    const attrs = Object.fromEntries(Object.entries(m.attrs ?? {}).filter(([n]) => wanted(n)));
    return {
      MessageId: m.id,
      ReceiptHandle: encodeHandle(queue.name, m.id, m.handle as string),
      MD5OfBody: m.md5,
      Body: m.body,
      ...(system.length > 0 ? { Attributes: Object.fromEntries(system.map((n) => [n, values[n]])) } : {}),
      ...(Object.keys(attrs).length > 0
        ? { MessageAttributes: attrs, MD5OfMessageAttributes: md5OfMessageAttributes(attrs) }
        : {}),
    };
  }

  /**
   * ReceiveMessage. A long poll (WaitTimeSeconds > 0) returns as soon as a message is there: on a
   * send or visibility change to this queue, or when a delayed or in-flight one becomes visible.
   * `signal` ends the wait early (the client went away, the server closes) with no messages.
   */
  async receiveMessage(body: Json, signal?: AbortSignal): Promise<Json> {
    const queue = this.queue(body.QueueUrl);
    const max =
      body.MaxNumberOfMessages === undefined
        ? 1
        : integer(body.MaxNumberOfMessages, 'MaxNumberOfMessages', [1, 10]);
    const visibility =
      body.VisibilityTimeout === undefined
        ? queue.attributes.VisibilityTimeout
        : integer(body.VisibilityTimeout, 'VisibilityTimeout', [0, 43_200]);
    const wait =
      body.WaitTimeSeconds === undefined
        ? queue.attributes.ReceiveMessageWaitTimeSeconds
        : integer(body.WaitTimeSeconds, 'WaitTimeSeconds', [0, 20]);
    const deadline = this.now() + wait * 1000;
    for (;;) {
      // A client gone while waiting gets nothing: messages taken for it would sit in flight.
      if (signal?.aborted) return { Messages: [] };
      const messages = this.receiveNow(queue, body, max, visibility);
      const left = deadline - this.now();
      if (messages.length > 0 || left <= 0) return { Messages: messages };
      const next = this.nextVisibleIn(queue);
      await this.waitFor(queue.name, Math.min(left, next), signal);
    }
  }

  /** Milliseconds until the next hidden message of `queue` becomes visible (Infinity: none). */
  private nextVisibleIn(queue: Queue): number {
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const m of queue.messages.values()) if (m.visibleAt > now) next = Math.min(next, m.visibleAt - now);
    return next;
  }

  /** Every message of a queue (none if it does not exist), oldest first: for tests and diagnostics. */
  messagesOf(queueName: string): { id: string; body: string; count: number; visibleAt: number }[] {
    return [...(this.queues.get(queueName)?.messages.values() ?? [])].map(
      ({ id, body, count, visibleAt }) => ({
        id,
        body,
        count,
        visibleAt,
      }),
    );
  }

  /**
   * In words, what `queue` holds and who waits on it: each message's receive count and when it is
   * visible again (a drain that times out says this).
   */
  describe(queueUrl: string): string {
    const queue = this.queue(queueUrl);
    const now = this.now();
    const messages = [...queue.messages.values()];
    if (messages.length === 0) return '';
    const each = messages.slice(0, 5).map((m) => {
      const state =
        m.visibleAt <= now
          ? 'visible'
          : `${m.count === 0 ? 'delayed' : 'in flight'}, visible in ${((m.visibleAt - now) / 1000).toFixed(1)} s`;
      return `${m.id} (received ${m.count} times, ${state})`;
    });
    const more = messages.length > 5 ? ` and ${messages.length - 5} more` : '';
    return `${queue.name}: ${each.join(', ')}${more}; ${this.waiting.get(queue.name) ?? 0} receivers waiting`;
  }

  /** Receivers in `waitFor`, per queue (for `describe`). */
  private readonly waiting = new Map<string, number>();

  /** Resolve on a wake-up of `queue`, after `ms`, or on abort, whichever is first. */
  private waitFor(name: string, ms: number, signal?: AbortSignal): Promise<void> {
    this.waiting.set(name, (this.waiting.get(name) ?? 0) + 1);
    return new Promise((resolve) => {
      let waiting = true;
      const done = () => {
        if (waiting) this.waiting.set(name, (this.waiting.get(name) ?? 1) - 1);
        waiting = false;
        clearTimeout(timer);
        this.events.off('message', onMessage);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const onMessage = (queue: string) => {
        if (queue === name) done();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.events.on('message', onMessage);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Resolves when the queue has a message to receive (at once if it has one), or when `signal`
   * aborts: lets an in-process consumer (the sandbox's event source) wait instead of polling.
   */
  async waitForMessage(queueUrl: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) return;
      const queue = this.queue(queueUrl);
      const now = this.now();
      this.expire(queue, now);
      if ([...queue.messages.values()].some((m) => m.visibleAt <= now)) return;
      const next = this.nextVisibleIn(queue);
      // A timer beyond 2^31 ms is not allowed; re-check at least hourly.
      await this.waitFor(queue.name, Math.min(next, 3_600_000), signal);
    }
  }

  /** The message a receipt handle names, if that handle is its current receive's. */
  private byHandle(queue: Queue, handle: unknown): { message?: StoredMessage; current: boolean } {
    const h = decodeHandle(handle);
    if (h.queue !== queue.name) throw badHandle(String(handle));
    const message = queue.messages.get(h.id);
    return { message, current: message?.handle === h.nonce };
  }

  private deleteOne(queue: Queue, handle: unknown): JournalRecord | undefined {
    const { message, current } = this.byHandle(queue, handle);
    // As SQS: deleting with an older receive's handle succeeds but leaves the message (it was
    // received again meanwhile); a message already deleted is no error.
    return message && current ? { t: 'del', q: queue.name, id: message.id } : undefined;
  }

  private applyDeletes(queue: Queue, records: JournalRecord[]): void {
    this.write(records, () => {
      for (const r of records) if (r.t === 'del') queue.messages.delete(r.id);
    });
  }

  deleteMessage(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    const record = this.deleteOne(queue, body.ReceiptHandle);
    this.applyDeletes(queue, record ? [record] : []);
    return {};
  }

  deleteMessageBatch(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    const Successful: Json[] = [];
    const Failed: Json[] = [];
    const records: JournalRecord[] = [];
    for (const entry of checkEntries(body.Entries)) {
      try {
        const record = this.deleteOne(queue, entry.ReceiptHandle);
        if (record && !records.some((r) => r.t === 'del' && r.id === (record as { id: string }).id))
          records.push(record);
        Successful.push({ Id: entry.Id });
      } catch (error) {
        Failed.push(failure(entry.Id, error));
      }
    }
    this.applyDeletes(queue, records);
    return { Successful, Failed };
  }

  /**
   * As SQS: the new timeout counts from now; 0 makes the message visible at once. Only the current
   * receive's handle of a message in flight may change it: a deleted message or an older receive's
   * handle is InvalidParameterValue (SQS's "Message does not exist or is not available for
   * visibility timeout change"), a message no longer in flight is MessageNotInflight.
   */
  private visibilityOne(queue: Queue, handle: unknown, timeout: unknown, now: number): JournalRecord {
    if (timeout === undefined || timeout === null) throw missing('VisibilityTimeout');
    const seconds = integer(timeout, 'VisibilityTimeout', [0, 43_200]);
    const { message, current } = this.byHandle(queue, handle);
    if (!message || !current) {
      throw invalid(
        `Value ${String(handle)} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (message.visibleAt <= now) {
      throw new SqsError(
        'MessageNotInflight',
        'AWS.SimpleQueueService.MessageNotInflight',
        'The message referred to is not in flight.',
      );
    }
    return { t: 'vis', q: queue.name, id: message.id, visibleAt: now + seconds * 1000 };
  }

  private applyVisibility(queue: Queue, records: JournalRecord[]): void {
    this.write(records, () => {
      for (const r of records) {
        const m = r.t === 'vis' ? queue.messages.get(r.id) : undefined;
        if (m && r.t === 'vis') m.visibleAt = r.visibleAt;
      }
    });
    // A waiting receiver re-checks: the message may be visible now, or sooner than it planned.
    if (records.length > 0) this.wake(queue);
  }

  changeMessageVisibility(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    this.applyVisibility(queue, [
      this.visibilityOne(queue, body.ReceiptHandle, body.VisibilityTimeout, this.now()),
    ]);
    return {};
  }

  changeMessageVisibilityBatch(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    const now = this.now();
    const Successful: Json[] = [];
    const Failed: Json[] = [];
    const records: JournalRecord[] = [];
    for (const entry of checkEntries(body.Entries)) {
      try {
        records.push(this.visibilityOne(queue, entry.ReceiptHandle, entry.VisibilityTimeout, now));
        Successful.push({ Id: entry.Id });
      } catch (error) {
        Failed.push(failure(entry.Id, error));
      }
    }
    this.applyVisibility(queue, records);
    return { Successful, Failed };
  }

  purgeQueue(body: Json): Json {
    const queue = this.queue(body.QueueUrl);
    this.write([{ t: 'purge', q: queue.name }], () => queue.messages.clear());
    return {};
  }

  /** Run one JSON-protocol operation by name (`SendMessage`, ...). */
  async run(operation: string, body: Json, signal?: AbortSignal): Promise<Json> {
    switch (operation) {
      case 'CreateQueue':
        return this.createQueue(body);
      case 'SetQueueAttributes':
        return this.setQueueAttributes(body);
      case 'GetQueueUrl':
        return this.getQueueUrl(body);
      case 'ListQueues':
        return this.listQueues(body);
      case 'GetQueueAttributes':
        return this.getQueueAttributes(body);
      case 'SendMessage':
        return this.sendMessage(body);
      case 'SendMessageBatch':
        return this.sendMessageBatch(body);
      case 'ReceiveMessage':
        return this.receiveMessage(body, signal);
      case 'DeleteMessage':
        return this.deleteMessage(body);
      case 'DeleteMessageBatch':
        return this.deleteMessageBatch(body);
      case 'ChangeMessageVisibility':
        return this.changeMessageVisibility(body);
      case 'ChangeMessageVisibilityBatch':
        return this.changeMessageVisibilityBatch(body);
      case 'PurgeQueue':
        return this.purgeQueue(body);
      default:
        throw new SqsError(
          'UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `The local SQS does not support ${operation || 'this operation'}.`,
          400,
        );
    }
  }
}
