/**
 * `npm start` as a user runs it, in its own process (sandbox/main.ts under tsx, random ports, a
 * given data folder), for tests that kill it: start, SIGKILL, start again on the same folder. Also
 * the few things those tests do to it from outside: create an UpKeep work order in the "Photo
 * validation" category and deliver its webhook (the event the Deepomatic flow turns into a
 * Deepomatic work order), and read the Deepomatic simulator's work orders.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SandboxProcess {
  child: ChildProcess;
  endpoints: Record<string, string>;
  exited: Promise<number | null>;
  /** What it printed on stderr (for failure messages). */
  stderr(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startSandboxProcess(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<SandboxProcess> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    MILLWRIGHT_SANDBOX_PORT: '0',
    MILLWRIGHT_POLL_SECONDS: '3600',
    MILLWRIGHT_LOG_LEVEL: 'warn',
    ...env,
  };
  delete childEnv.npm_config_reset;
  delete childEnv.npm_config_data;
  const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', '--data', dataDir], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let stdout = '';
  await new Promise<void>((done, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('Millwright sandbox is up')) done();
    });
    void exited.then((code) => fail(new Error(`sandbox exited ${code}: ${stderr}`)));
  });
  const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Record<
    string,
    string
  >;
  return {
    child,
    endpoints,
    exited,
    stderr: () => stderr,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

const base = (url: string | undefined, suffix: string) => (url ?? '').replace(suffix, '');

/** The UpKeep webhook token `npm start` uses (sandbox/secrets.local.json, created on first start). */
export function upkeepWebhookToken(): string {
  const secrets = JSON.parse(readFileSync('sandbox/secrets.local.json', 'utf8')) as Record<
    string,
    { webhookToken?: string }
  >;
  return secrets['millwright/upkeep']?.webhookToken ?? '';
}

/**
 * A technician creates an UpKeep work order for photo validation (the simulator saves it and sends
 * its own webhook), and the test delivers the webhook once more itself, so it knows whether the
 * sandbox acknowledged it: returns the work order id and whether the ingress answered 2xx.
 * Throws only if the work order could not be created (the sandbox is down).
 */
export async function photoWorkOrder(
  sandbox: SandboxProcess,
  title: string,
): Promise<{ id: string; acknowledged: boolean }> {
  const created = await fetch(`${base(sandbox.endpoints.upkeep, '/api/v2')}/_sandbox/work-orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, category: 'Photo validation' }),
  });
  if (created.status !== 200) throw new Error(`UpKeep simulator answered ${created.status}`);
  const { workOrder } = (await created.json()) as { workOrder: { id: string } };
  try {
    const res = await fetch(`${sandbox.endpoints.ingress}/webhooks/upkeep/${upkeepWebhookToken()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'WORK_ORDER_CREATED', data: workOrder }),
    });
    await res.arrayBuffer();
    return { id: workOrder.id, acknowledged: res.ok };
  } catch {
    return { id: workOrder.id, acknowledged: false };
  }
}

/** The names of the Deepomatic simulator's work orders (`upkeep-<UpKeep id>` for the flow's). */
export async function deepomaticWorkOrderNames(sandbox: SandboxProcess): Promise<string[]> {
  const res = await fetch(`${base(sandbox.endpoints.deepomatic, '/v0.2')}/_sandbox/state`);
  const state = (await res.json()) as { workOrders: { name: string }[] };
  return state.workOrders.map((w) => w.name);
}

/** Poll `check` every 100 ms until it returns true, or throw after `timeoutMs` saying `what`. */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
