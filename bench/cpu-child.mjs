// The worker's own process for bench/cpu.ts: imports one bundled worker (as Lambda does), invokes
// it with the SQS batches in the file it is given, and reports the CPU it spent per event (user +
// system, process.cpuUsage) after a warm-up. Plain JavaScript run by `node`, so no TypeScript
// loader adds to what it measures. Prints `CPU_RESULT {...}` as its last stdout line.
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [bundlePath, batchesPath] = process.argv.slice(2);
/** @type {{ warmup: unknown[], phases: { label: string, batches: { Records: unknown[] }[] }[] }} */
const plan = JSON.parse(readFileSync(batchesPath, 'utf8'));

// Outgoing requests by origin while a phase runs (SDK clients use node:http, vendor clients fetch).
let requests = new Map();
let counting = false;
const count = (origin) => {
  if (counting) requests.set(origin, (requests.get(origin) ?? 0) + 1);
};
diagnosticsChannel.subscribe('http.client.request.start', ({ request }) =>
  count(`${request.protocol}//${request.getHeader('host')}`),
);
diagnosticsChannel.subscribe('undici:request:create', ({ request }) => count(request.origin));
// New TCP connections: with keep-alive, about none per event once warm.
diagnosticsChannel.subscribe('net.client.socket', () => count('new connections'));

const importStart = performance.now();
// As Lambda loads it: `require` for a CommonJS bundle, `import()` for an ESM one (older trees).
const { handler } = bundlePath.endsWith('.mjs')
  ? await import(pathToFileURL(bundlePath).href)
  : createRequire(import.meta.url)(bundlePath);
const importMs = performance.now() - importStart;

let request = 0;
const context = () => ({
  functionName: 'millwright-bench-worker',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:millwright-bench-worker',
  memoryLimitInMB: '256',
  awsRequestId: `bench-${++request}`,
  logGroupName: '/aws/lambda/millwright-bench-worker',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
});

let failures = 0;
const invoke = async (batch) => {
  const result = await handler(batch, context());
  failures += result?.batchItemFailures?.length ?? 0;
};

for (const batch of plan.warmup) await invoke(batch);
const warmupFailures = failures;
const phases = [];
for (const phase of plan.phases) {
  failures = 0;
  requests = new Map();
  counting = true;
  const events = phase.batches.reduce((n, b) => n + b.Records.length, 0);
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  for (const batch of phase.batches) await invoke(batch);
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - wallStart;
  counting = false;
  phases.push({
    label: phase.label,
    events,
    cpuMsPerEvent: (cpu.user + cpu.system) / 1000 / events,
    userMsPerEvent: cpu.user / 1000 / events,
    systemMsPerEvent: cpu.system / 1000 / events,
    wallMsPerEvent: wallMs / events,
    failures,
    requestsPerEvent: Object.fromEntries([...requests].map(([origin, n]) => [origin, n / events])),
  });
}
process.stdout.write(`\nCPU_RESULT ${JSON.stringify({ importMs, warmupFailures, phases })}\n`);
