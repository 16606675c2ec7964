/**
 * What MillwrightFunction deploys (BUNDLE in lib/constructs/millwright-function.ts): the SDK v3
 * clients inside each bundle, one copy of every package, the env-only credential provider instead
 * of the SDK's default chain. Built with esbuild as the stack builds it (bench/esbuild.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Metafile } from 'esbuild';
import { BUNDLE_FILE, bundleEntry, loadStatement } from '../../bench/esbuild.ts';
import { loadDeployment } from '../../functions/config/deployment.ts';
import { flows } from '../../functions/flows/index.ts';
import { BUNDLE } from '../../lib/constructs/millwright-function.ts';
import { PROJECT_ROOT, planEntries } from '../../lib/entries.ts';

const packagesOf = (metafile: Metafile): Map<string, Set<string>> => {
  const folders = new Map<string, Set<string>>();
  for (const path of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(path);
    if (!match?.[1] || !match[2]) continue;
    const set = folders.get(match[2]) ?? new Set<string>();
    set.add(match[1]);
    folders.set(match[2], set);
  }
  return folders;
};

describe('Lambda bundles', () => {
  // Outside the project: nothing the bundle imports at run time can come from node_modules.
  const dir = mkdtempSync(join(tmpdir(), 'millwright-bundle-'));
  const built: Record<'ingress' | 'worker', { file: string; metafile: Metafile }> = {} as never;

  beforeAll(async () => {
    const deployment = loadDeployment(join(PROJECT_ROOT, 'config/default.json'), flows);
    const entries = planEntries(deployment, join(dir, 'entries'));
    const pick = {
      ingress: entries.find((e) => e.kind === 'ingress'),
      worker: entries.find((e) => e.id === 'mobility-work-stock-alert-to-upkeep-worker'),
    };
    for (const kind of ['ingress', 'worker'] as const) {
      const entry = pick[kind];
      if (!entry) throw new Error(`no ${kind} entry in config/default.json`);
      mkdirSync(dirname(entry.entryPath), { recursive: true });
      writeFileSync(entry.entryPath, entry.source);
      const file = join(dir, kind, BUNDLE_FILE);
      built[kind] = { file, metafile: await bundleEntry(entry.entryPath, file) };
    }
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles the SDK: nothing external but Node built-ins', () => {
    expect(BUNDLE.external).toEqual([]);
    for (const { metafile } of Object.values(built)) {
      const external = Object.values(metafile.outputs).flatMap((o) =>
        o.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path),
      );
      expect(external).toEqual([]);
      expect([...packagesOf(metafile).keys()]).toEqual(
        expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@smithy/core']),
      );
    }
  });

  it('holds one copy of each package (the versions in package-lock.json the tests ran)', () => {
    for (const { metafile } of Object.values(built)) {
      const duplicated = [...packagesOf(metafile)].filter(([, folders]) => folders.size > 1);
      expect(duplicated).toEqual([]);
    }
  });

  it("uses the environment's credentials, not the SDK's default chain (SSO, INI, IMDS, STS)", () => {
    for (const { metafile } of Object.values(built)) {
      const inputs = Object.keys(metafile.inputs);
      expect(
        inputs.filter((p) =>
          /credential-provider-(node|ini|sso|process|web-identity)|nested-clients/.test(p),
        ),
      ).toEqual([]);
      expect(inputs).toContain('functions/runtime/lambda/credentials.ts');
    }
  });

  it('loads and builds its handler in a bare node process, away from node_modules', () => {
    for (const { file } of Object.values(built)) {
      const run = spawnSync(
        process.execPath,
        ['-e', `const m = ${loadStatement(file)}; process.stdout.write(typeof m.handler);`],
        {
          cwd: dir,
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH,
            TABLE_NAME: 'bundle-test',
            QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/q',
            QUEUE_URL_PREFIX: 'https://sqs.us-east-1.amazonaws.com/000000000000/',
            DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/q-dlq',
            AWS_REGION: 'us-east-1',
          },
          timeout: 30_000,
        },
      );
      expect({ status: run.status, stdout: run.stdout, stderr: run.status === 0 ? '' : run.stderr }).toEqual({
        status: 0,
        stdout: 'function',
        stderr: '',
      });
    }
  });
});
