/**
 * The local SQS over HTTP: the JSON protocol the AWS SDK v3 SQS client speaks
 * (`X-Amz-Target: AmazonSQS.<Operation>`, `application/x-amz-json-1.0`, errors as `__type` plus
 * the query-compatible `x-amzn-query-error` code). SQS's size limits (aws-limits.ts) are checked
 * before the engine sees a request. A long poll whose client disconnects stops waiting at once, so
 * it never takes messages nobody will get.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AwsRefusal, sqsLimits } from './aws-limits.ts';
import { type SqsEngine, SqsError } from './sqs-engine.ts';

/** Far above any valid request (a batch is at most 256 KiB of messages, base64 attributes a bit more). */
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

function answer(res: ServerResponse, status: number, body: unknown, queryError?: string): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/x-amz-json-1.0');
  res.setHeader('x-amzn-requestid', randomUUID());
  if (queryError) res.setHeader('x-amzn-query-error', `${queryError};Sender`);
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

const refuse = (res: ServerResponse, r: AwsRefusal) =>
  answer(res, 400, { __type: r.type, message: r.message }, r.queryError);

async function handle(engine: SqsEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) {
      refuse(res, {
        type: 'com.amazonaws.sqs#RequestEntityTooLarge',
        queryError: 'RequestEntityTooLarge',
        message: 'The request is larger than the local SQS accepts.',
      });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  }
  const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
  let body: Record<string, unknown>;
  try {
    const text = Buffer.concat(chunks).toString('utf8');
    body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
  } catch {
    return refuse(res, {
      type: 'com.amazon.coral.service#SerializationException',
      queryError: 'MalformedInput',
      message: 'The request body is not a JSON object.',
    });
  }
  const refusal = await sqsLimits(operation, body);
  if (refusal) return refuse(res, refusal);
  // Ends a long poll when the client goes away before its answer.
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  try {
    answer(res, 200, await engine.run(operation, body, gone.signal));
  } catch (error) {
    if (error instanceof SqsError) {
      answer(
        res,
        error.status,
        { __type: `com.amazonaws.sqs#${error.type}`, message: error.message },
        error.code,
      );
    } else {
      answer(res, 500, {
        __type: 'com.amazonaws.sqs#InternalError',
        message: String((error as Error)?.message),
      });
    }
  }
}

/** An HTTP server for `engine` (not yet listening). `abortAll` ends every long poll (before close). */
export function createSqsHttpServer(engine: SqsEngine): { server: Server; abortAll: () => void } {
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    handle(engine, req, res).catch(() => res.destroy());
  });
  return {
    server,
    abortAll: () => {
      for (const res of open) res.destroy();
    },
  };
}
