/**
 * `npx tsx bench/cpu.ts [--json]`: CPU time a flow worker spends per event, in a process that runs
 * only the worker. The sandbox's engines and simulators (DynamoDB, SQS, Secrets Manager, the vendor
 * APIs) run here, in the bench's process, without the event-source loop; the worker runs in a child
 * `node` process (bench/cpu-child.mjs) that imports the worker bundled as MillwrightFunction bundles
 * it, with the environment a Lambda function finds, pointed at the local engines (AWS_ENDPOINT_URL_*).
 *
 * Flow: mobility-work-stock-alert-to-upkeep, event SparePartWasRestocked (the event bench/cost.ts
 * prices). Each event is unique and goes through the ingress, so the worker does its whole work
 * (claims, vendor calls, run log). The child invokes the handler with SQS batches of 1, then of 10,
 * after a warm-up, and reports process.cpuUsage() (user + system) per event for each.
 * Figures only; it fails only when the worker cannot run.
 *
 *   MILLWRIGHT_CPU_EVENTS=200 npx tsx bench/cpu.ts [--json]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { Deployment } from '../functions/config/deployment.ts';
import { signMobilityWorkWebhook } from '../functions/connectors/mobility-work/signature.ts';
import { PROJECT_ROOT, planEntries } from '../lib/entries.ts';
import { type Sandbox, startSandbox } from '../sandbox/runtime.ts';
import { sandboxSecrets } from '../sandbox/secrets.ts';
import { toSqsEvent } from '../sandbox/sqs.ts';
import { BUNDLE_FILE, bundleEntry } from './esbuild.ts';

const FLOW_ID = 'mobility-work-stock-alert-to-upkeep';
const EVENTS = Number(process.env.MILLWRIGHT_CPU_EVENTS ?? 200);
// Long enough for V8 to optimise the hot paths, as in a Lambda that has served a while.
const WARMUP = Number(process.env.MILLWRIGHT_CPU_WARMUP ?? 100);
const OUT_DIR = join(PROJECT_ROOT, '.build', 'bench-cpu');
const NETWORK_ID = '17df9a0f-5c04-43c8-b010-b48e1237e6ff';
const JSON_OUT = process.argv.includes('--json');
const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The same event as bench/cost.ts's first scenario, for a part of its own. */
const restocked = (i: number) => ({
  _type: 'SparePartWasRestockedWebhook',
  _event: 'SparePartWasRestocked',
  _idempotencyKey: randomBytes(5).toString('hex'),
  _sentAt: new Date().toISOString(),
  emittedAt: new Date().toISOString(),
  _metadata: '',
  task: null,
  sparePart: { id: `sp-cpu-${i}`, externalReference: `CPU-${i}`, name: 'Bench part' },
  location: { name: 'Main store' },
  initiator: { id: 3, email: 'tech@plant.example', name: 'Tech' },
  restocked: { quantity: 5, previousStock: 1 },
  networkId: NETWORK_ID,
});

async function sendWebhooks(sandbox: Sandbox, secret: string, count: number, offset: number): Promise<void> {
  for (let i = offset; i < offset + count; i++) {
    const rawBody = JSON.stringify(restocked(i));
    const header = signMobilityWorkWebhook({
      secret,
      scheme: 't.nonce.body',
      t: Math.floor(Date.now() / 1000),
      nonce: randomBytes(20).toString('hex'),
      rawBody,
    });
    const res = await fetch(`${sandbox.ingressUrl}/webhooks/mobility-work`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mw-signature': header },
      body: rawBody,
    });
    if (res.status !== 200) throw new Error(`ingress answered ${res.status}: ${await res.text()}`);
  }
}

/** Take `count` messages off the flow's queue as the records Lambda's event source mapping passes. */
async function receive(sandbox: Sandbox, queueUrl: string, count: number): Promise<SQSRecord[]> {
  const records: SQSRecord[] = [];
  while (records.length < count) {
    const out = await sandbox.sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, count - records.length),
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 900,
        WaitTimeSeconds: 1,
      }),
    );
    // The records the sandbox's event source passes its workers (sandbox/sqs.ts).
    records.push(
      ...toSqsEvent(out.Messages ?? [], `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`)
        .Records,
    );
    if ((out.Messages ?? []).length === 0)
      throw new Error(`queue ${queueUrl} ran dry at ${records.length}/${count}`);
  }
  return records;
}

const batchesOf = (records: SQSRecord[], size: number): SQSEvent[] => {
  const out: SQSEvent[] = [];
  for (let i = 0; i < records.length; i += size) out.push({ Records: records.slice(i, i + size) });
  return out;
};

interface Phase {
  label: string;
  events: number;
  cpuMsPerEvent: number;
  userMsPerEvent: number;
  systemMsPerEvent: number;
  wallMsPerEvent: number;
  failures: number;
  /** Outgoing requests per event by origin (URL scheme, host and port). */
  requestsPerEvent: Record<string, number>;
}

function runChild(
  bundle: string,
  batchesFile: string,
  env: Record<string, string>,
): Promise<{ importMs: number; warmupFailures: number; phases: Phase[]; stdoutBytes: number }> {
  return new Promise((resolve, reject) => {
    // MILLWRIGHT_CPU_PROFILE=<dir>: also write the worker process's V8 CPU profile there.
    const profile = process.env.MILLWRIGHT_CPU_PROFILE;
    const flags = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
    const child = spawn(
      process.execPath,
      [...flags, join(PROJECT_ROOT, 'bench', 'cpu-child.mjs'), bundle, batchesFile],
      {
        cwd: PROJECT_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let tail = '';
    let stderr = '';
    let stdoutBytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      tail = (tail + chunk.toString('utf8')).slice(-20_000);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = tail.split('\n').find((l) => l.startsWith('CPU_RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`worker process failed (exit ${code}): ${stderr.trim() || tail.slice(-2000)}`));
        return;
      }
      resolve({ ...JSON.parse(line.slice('CPU_RESULT '.length)), stdoutBytes });
    });
  });
}

async function main(): Promise<void> {
  const secrets = sandboxSecrets() as Record<string, Record<string, unknown>>;
  const sandbox = await startSandbox({ config: 'config/default.json', secrets, basePort: 0, log: quiet });
  try {
    const flow = sandbox.flows.get(FLOW_ID);
    if (!flow) throw new Error(`flow ${FLOW_ID} is not enabled in config/default.json`);
    const secret = (secrets['millwright/mobility-work']?.webhookSecrets as string[] | undefined)?.[0];
    if (!secret) throw new Error('the sandbox secrets have no millwright/mobility-work webhookSecrets');

    // The worker entry as the stack generates it, with vendor settings pointed at the simulators.
    const deployment: Deployment = {
      ...sandbox.deployment,
      vendors: sandbox.env.vendors as Deployment['vendors'],
    };
    rmSync(OUT_DIR, { recursive: true, force: true });
    const entry = planEntries(deployment, join(OUT_DIR, 'entries')).find((e) => e.id === `${FLOW_ID}-worker`);
    if (!entry) throw new Error(`no worker entry for ${FLOW_ID}`);
    mkdirSync(join(OUT_DIR, 'entries', FLOW_ID), { recursive: true });
    writeFileSync(entry.entryPath, entry.source);
    const bundle = join(OUT_DIR, 'worker', BUNDLE_FILE);
    await bundleEntry(entry.entryPath, bundle);

    const total = WARMUP + 2 * EVENTS;
    await sendWebhooks(sandbox, secret, total, 0);
    const records = await receive(sandbox, flow.queues.queueUrl, total);
    const warm = records.slice(0, WARMUP);
    const plan = {
      warmup: [...batchesOf(warm.slice(0, WARMUP / 2), 1), ...batchesOf(warm.slice(WARMUP / 2), 10)],
      phases: [
        { label: 'batch of 1', batches: batchesOf(records.slice(WARMUP, WARMUP + EVENTS), 1) },
        { label: 'batch of 10', batches: batchesOf(records.slice(WARMUP + EVENTS), 10) },
      ],
    };
    const batchesFile = join(OUT_DIR, 'batches.json');
    writeFileSync(batchesFile, JSON.stringify(plan));

    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      TABLE_NAME: `${sandbox.deployment.name}-state`,
      QUEUE_URL: flow.queues.queueUrl,
      DLQ_URL: flow.queues.dlqUrl,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: sandbox.endpoints.dynamodb ?? '',
      AWS_ENDPOINT_URL_SQS: sandbox.endpoints.sqs ?? '',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sandbox.endpoints.secretsmanager ?? '',
      AWS_LAMBDA_FUNCTION_NAME: 'millwright-bench-worker',
    };
    const result = await runChild(bundle, batchesFile, env);
    const [one, ten] = result.phases;
    console.log(
      `Millwright worker CPU per event: ${FLOW_ID}, SparePartWasRestocked, ${EVENTS} events per batch size ` +
        `after ${WARMUP} warm-up; the worker bundled as deployed, alone in a node ${process.version} process ` +
        `(engines and simulators in another). Import took ${result.importMs.toFixed(0)} ms; the worker wrote ` +
        `${(result.stdoutBytes / (WARMUP + 2 * EVENTS)).toFixed(0)} bytes of logs and metrics per event.\n`,
    );
    console.log('batch        CPU ms/event  user  system  wall ms/event  failed records');
    for (const p of result.phases) {
      console.log(
        `${p.label.padEnd(11)}  ${p.cpuMsPerEvent.toFixed(2).padStart(12)}  ${p.userMsPerEvent.toFixed(2).padStart(4)}  ` +
          `${p.systemMsPerEvent.toFixed(2).padStart(6)}  ${p.wallMsPerEvent.toFixed(2).padStart(13)}  ${String(p.failures).padStart(14)}`,
      );
    }
    // Name each origin by the sandbox service it belongs to.
    const names = new Map(
      Object.entries(sandbox.endpoints).flatMap(([name, url]) => {
        try {
          return [[new URL(url).origin, name] as const];
        } catch {
          return [];
        }
      }),
    );
    for (const p of result.phases) {
      const byService = Object.entries(p.requestsPerEvent)
        .map(([origin, n]) => `${names.get(origin) ?? origin} ${n.toFixed(2)}`)
        .join(', ');
      console.log(`requests per event (${p.label}): ${byService}`);
    }
    const dynamoOrigin = [...names].find(([, name]) => name === 'dynamodb')?.[0] ?? '';
    if (result.warmupFailures > 0 || result.phases.some((p) => p.failures > 0)) {
      console.log('Some records failed (they count as work done, but check the worker).');
    }
    if (JSON_OUT) {
      const r2 = (n: number | undefined) => (n === undefined ? null : Math.round(n * 100) / 100);
      console.log(
        `BENCH_JSON ${JSON.stringify({
          workerCpuMsPerEvent1: r2(one?.cpuMsPerEvent),
          workerCpuMsPerEvent10: r2(ten?.cpuMsPerEvent),
          workerWallMsPerEvent1: r2(one?.wallMsPerEvent),
          workerWallMsPerEvent10: r2(ten?.wallMsPerEvent),
          workerDynamoCallsPerEvent: r2(one?.requestsPerEvent[dynamoOrigin] ?? 0),
          workerLogBytesPerEvent: Math.round(result.stdoutBytes / (WARMUP + 2 * EVENTS)),
          workerFailedRecords: result.warmupFailures + result.phases.reduce((n, p) => n + p.failures, 0),
          events: EVENTS,
        })}`,
      );
    }
  } finally {
    await sandbox.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`cpu benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
