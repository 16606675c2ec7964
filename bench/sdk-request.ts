/**
 * `npx tsx bench/sdk-request.ts`: CPU one DynamoDB PutItem costs the CLIENT (SDK v3 as the state
 * table uses it), against a loopback server in another process that answers `{}`, so only the
 * client's own work counts: its middleware, serde, signing and Node's HTTP client. Three clients:
 * - `document`: DynamoDBDocumentClient + PutCommand, as functions/core/state.ts sends today;
 * - `low-level`: DynamoDBClient + PutItemCommand with the item already in AttributeValue form;
 * - `low-level, cacheMiddleware`: the same with the client's `cacheMiddleware: true` (it reuses the
 *   resolved middleware stack per command class; the document client cannot use it, because its
 *   commands' handlers keep the first command they were resolved for).
 * Prints the median over 5 rounds of 2,000 requests each, after a warm-up, per client.
 */
import { spawn } from 'node:child_process';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

const REQUESTS = 2000;
const ROUNDS = 5;

const server = spawn(process.execPath, [
  '-e',
  `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.setHeader('content-type','application/x-amz-json-1.0');s.end('{}')})}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`,
]);
const port: number = await new Promise((resolve) =>
  server.stdout.once('data', (d: Buffer) => resolve(Number(String(d)))),
);
const config = {
  endpoint: `http://127.0.0.1:${port}`,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};
const item = {
  pk: 'FLOW#x',
  sk: 'RUN#2026-12-07T00:00:00.000Z#abc',
  doc: { a: 1, b: 'two', c: [1, 2, 3], d: { e: true } },
  ttl: 123,
};
const marshalled = {
  pk: { S: item.pk },
  sk: { S: item.sk },
  doc: {
    M: {
      a: { N: '1' },
      b: { S: 'two' },
      c: { L: [{ N: '1' }, { N: '2' }, { N: '3' }] },
      d: { M: { e: { BOOL: true } } },
    },
  },
  ttl: { N: '123' },
};
const condition = 'attribute_not_exists(pk)';
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient(config));
const lowLevel = new DynamoDBClient(config);
const cached = new DynamoDBClient({ ...config, cacheMiddleware: true });
const clients: Record<string, () => Promise<unknown>> = {
  document: () =>
    documentClient.send(new PutCommand({ TableName: 't', Item: item, ConditionExpression: condition })),
  'low-level': () =>
    lowLevel.send(new PutItemCommand({ TableName: 't', Item: marshalled, ConditionExpression: condition })),
  'low-level, cacheMiddleware': () =>
    cached.send(new PutItemCommand({ TableName: 't', Item: marshalled, ConditionExpression: condition })),
};

const perRequest: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, so each client sees the same machine load.
  for (const [name, send] of Object.entries(clients)) {
    for (let i = 0; i < 200; i++) await send();
    const before = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) await send();
    const used = process.cpuUsage(before);
    const samples = perRequest[name] ?? [];
    samples.push((used.user + used.system) / REQUESTS / 1000);
    perRequest[name] = samples;
  }
}
server.kill();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(`DynamoDB PutItem, client CPU per request (median of ${ROUNDS} x ${REQUESTS}):`);
for (const [name, xs] of Object.entries(perRequest)) {
  console.log(`  ${name.padEnd(28)} ${median(xs).toFixed(3)} ms`);
}
process.exit(0);
