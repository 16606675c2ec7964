/**
 * Adding a vendor is one folder and one registry line (issue 10). In a copy of this repository, the
 * throwaway vendor of test/fixtures/throwaway-vendor/ (Acme CMMS: manifest, config, client, webhook
 * receiver, one event type, simulator) and a flow on it are added as a user would: the folder, the
 * flow file, one line in each registry, and the operator's config blocks (in a config file of
 * their own). Then, in the copy: git shows nothing else changed, the compiler checks the vendor where
 * it lives, and a probe (fixture probe.ts) shows the deployment schema, the sandbox and the
 * synthesized stack all picked it up.
 */
import { execFile } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROJECT_ROOT } from '../../lib/entries.ts';

const run = promisify(execFile);
const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/throwaway-vendor');
const VENDOR = 'acme-cmms';
const FLOW = 'acme-cmms-asset-failed-to-upkeep-work-order';
const CONNECTOR_LINE = `export { connector as acmeCmms } from './${VENDOR}/connector.ts';\n`;
const FLOW_LINE = `export { flow as acmeCmmsAssetFailedToUpKeep } from './${FLOW}.ts';\n`;

type Json = Record<string, unknown>;
interface Summary {
  deployment: {
    registered: string;
    settings: Json;
    enabled: boolean;
    badField: string[];
    unknownVendor: string[];
  };
  sandbox: {
    endpoints: { api: string; hook: string };
    asset: { status: number; body: Json };
    noKey: number;
    forged: number;
    delivery: { failureId: string; status: number };
    enqueued: { type: string; queue: boolean }[];
    runs: { outcome: string; message: string }[];
    workOrders: { title: string; asset: string }[];
  };
  stack: {
    routes: string[];
    ingressSecrets: string[];
    workerSecrets: string[];
    queueName: string;
    routing: string[];
  };
}

let work: string;
let copy: string;
let status: string[];
let numstat: string[];
let typecheck: { code: number; output: string };
let summary: Summary;

const git = async (...args: string[]) => (await run('git', args, { cwd: copy })).stdout;

/** The repository as it is on disk (tracked files and new ones git does not ignore), without .git. */
async function copyRepository(): Promise<void> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    // A file deleted but not yet staged is listed too: it is not part of the tree on disk.
    cpSync(join(PROJECT_ROOT, file), join(copy, file), {
      errorOnExist: false,
      force: true,
      recursive: false,
    });
  }
  await git('init', '-q');
  await git('add', '-A');
  await git('-c', 'user.name=probe', '-c', 'user.email=probe@example.invalid', 'commit', '-qm', 'before');
  writeFileSync(join(copy, '.git/info/exclude'), 'node_modules\n');
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
}

/** What a user adding the vendor writes: the folder, the flow file, one line per registry. */
function addVendor(): void {
  cpSync(join(FIXTURE, 'connectors', VENDOR), join(copy, 'functions/connectors', VENDOR), {
    recursive: true,
  });
  cpSync(join(FIXTURE, 'flows', `${FLOW}.ts`), join(copy, 'functions/flows', `${FLOW}.ts`));
  appendFileSync(join(copy, 'functions/connectors/registry.ts'), CONNECTOR_LINE);
  appendFileSync(join(copy, 'functions/flows/registry.ts'), FLOW_LINE);
}

/** The operator's config: the default one plus the vendor's and the flow's blocks, in a file of its own. */
function writeConfig(): string {
  const base = JSON.parse(readFileSync(join(copy, 'config/default.json'), 'utf8')) as {
    vendors: Json;
    flows: Json;
  };
  const blocks = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as {
    vendors: Json;
    flows: Json;
  };
  const path = join(work, 'acme-config.json');
  writeFileSync(
    path,
    JSON.stringify({
      ...base,
      vendors: { ...base.vendors, ...blocks.vendors },
      flows: { ...base.flows, ...blocks.flows },
    }),
  );
  return path;
}

async function typecheckCopy(): Promise<{ code: number; output: string }> {
  try {
    await run('npx', ['tsc', '--noEmit', '-p', copy], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: '' };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function probe(configPath: string): Promise<Summary> {
  const out = await run('npx', ['tsx', 'test/fixtures/throwaway-vendor/probe.ts', configPath], {
    cwd: copy,
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = out.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Summary;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'millwright-add-a-vendor-'));
  copy = join(work, 'repo');
  await copyRepository();
  addVendor();
  status = (await git('status', '--porcelain', '--untracked-files=all')).split('\n').filter(Boolean).sort();
  numstat = (await git('diff', '--numstat')).split('\n').filter(Boolean).sort();
  const configPath = writeConfig();
  [typecheck, summary] = await Promise.all([typecheckCopy(), probe(configPath)]);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('adding a vendor (the throwaway Acme CMMS)', () => {
  it('changes no file but one line in each registry, and adds only the vendor folder and the flow file', () => {
    expect(numstat).toEqual(['1\t0\tfunctions/connectors/registry.ts', '1\t0\tfunctions/flows/registry.ts']);
    const added = status.filter((line) => line.startsWith('?? ')).map((line) => line.slice(3));
    expect(status.filter((line) => !line.startsWith('?? '))).toEqual([
      ' M functions/connectors/registry.ts',
      ' M functions/flows/registry.ts',
    ]);
    expect(added).toContain(`functions/connectors/${VENDOR}/connector.ts`);
    expect(added).toContain(`functions/connectors/${VENDOR}/simulator/index.ts`);
    expect(
      added.every(
        (f) => f.startsWith(`functions/connectors/${VENDOR}/`) || f === `functions/flows/${FLOW}.ts`,
      ),
    ).toBe(true);
  });

  it('type-checks the vendor folder and the flow where they live', () => {
    expect(typecheck.output).toBe('');
    expect(typecheck.code).toBe(0);
  });

  it('extends the deployment schema: vendors.acme-cmms is validated by its own schema', () => {
    const { deployment } = summary;
    expect(deployment.registered).toBe('Acme CMMS');
    expect(deployment.settings).toMatchObject({
      secretName: 'millwright/acme-cmms',
      webhook: { secretHeader: 'x-acme-webhook-secret' },
    });
    expect(deployment.enabled).toBe(true);
    expect(deployment.badField).toEqual(['vendors.acme-cmms.timeoutMs']);
    expect(deployment.unknownVendor).toEqual(['vendors.acme-cmmz']);
  });

  it('starts its simulator in the sandbox and lists its API and webhook endpoints', () => {
    const { sandbox } = summary;
    expect(sandbox.endpoints.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(sandbox.endpoints.hook).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/acme-cmms$/);
    expect(sandbox.asset).toEqual({
      status: 200,
      body: { id: 'PUMP-7', name: 'Coolant pump 7', location: 'Hall B', status: 'running' },
    });
    // The simulator checks its API key; the receiver checks the webhook secret.
    expect(sandbox.noKey).toBe(401);
    expect(sandbox.forged).toBe(401);
  });

  it("carries the simulator's webhook through the ingress to the flow, which makes one UpKeep work order", () => {
    const { sandbox } = summary;
    expect(sandbox.delivery).toEqual({ failureId: 'F-1', status: 202 });
    expect(sandbox.enqueued).toEqual([{ type: 'acme-cmms.asset.failed', queue: true }]);
    expect(sandbox.runs.map((r) => r.outcome)).toEqual(['done']);
    expect(sandbox.workOrders).toEqual([{ title: 'Asset failed: Coolant pump 7', asset: 'AssetMill01' }]);
  });

  it('synthesizes its webhook route, secret grants, queue and worker', () => {
    const { stack } = summary;
    expect(stack.routes).toContain('POST /webhooks/acme-cmms');
    expect(stack.ingressSecrets).toContain('millwright/acme-cmms');
    expect(stack.workerSecrets).toEqual(['millwright/acme-cmms', 'millwright/upkeep']);
    expect(stack.queueName).toBe(`Millwright-${FLOW}`);
    expect(stack.routing).toEqual([`Millwright-${FLOW}`]);
  });
});
