/**
 * Config that is wrong is refused, whatever the depth: a misspelt key never falls back to a default
 * silently, a JSON slip names the line and column, a bad secrets file names the file, and every
 * problem is printed once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { loadDeployment, validateDeployment } from '../../../functions/config/deployment.ts';
import { ConfigError } from '../../../functions/core/errors.ts';
import { silentLog } from '../../../functions/core/log.ts';
import { closestKey, unknownKeys } from '../../../functions/core/schema.ts';
import { flows } from '../../../functions/flows/index.ts';
import { startSandbox } from '../../../sandbox/runtime.ts';
import { readSecretsFile, sandboxSecrets } from '../../../sandbox/secrets.ts';

type Json = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary config paths.
const base = () => JSON.parse(readFileSync('config/default.json', 'utf8')) as Record<string, any>;
const DOWNTIME = 'machinemetrics-downtime-to-upkeep-work-order';

const problem = (raw: unknown): ConfigError => {
  try {
    validateDeployment(raw, flows, 'config/test.json');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('config was accepted');
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('unknown keys', () => {
  it.each([
    ['vendors.upkeep.apiVersoin', 'apiVersion', (c: Json) => (c.vendors as Json).upkeep as Json],
    [
      `flows.${DOWNTIME}.workOrder.prority`,
      'priority',
      (c: Json) => ((c.flows as Json)[DOWNTIME] as Json).workOrder as Json,
    ],
    [
      'vendors.mobility-work.webhook.signatureSchema',
      'signatureScheme',
      (c: Json) => ((c.vendors as Json)['mobility-work'] as Json).webhook as Json,
    ],
  ])('rejects %s, suggesting "%s"', (path, suggestion, parent) => {
    const raw = base();
    const key = path.split('.').pop() as string;
    parent(raw)[key] = 'x';
    const error = problem(raw);
    expect(error.path).toBe(path);
    expect(error.message).toContain(`${path}: unknown key "${key}" (did you mean "${suggestion}"?)`);
  });

  it('lists the known keys when nothing is close', () => {
    const raw = base();
    raw.vendors.upkeep.somethingElseEntirely = true;
    expect(problem(raw).message).toMatch(/unknown key "somethingElseEntirely" \(known keys: .*apiVersion/);
  });

  /** Every object in the committed config, by path. */
  function objectPaths(value: unknown, path: string[] = []): string[][] {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
    return [path, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...path, k]))];
  }

  it('refuses an extra key in every object of the committed config, naming its path', () => {
    const paths = objectPaths(base());
    expect(paths.length).toBeGreaterThan(40);
    for (const path of paths) {
      const raw = base();
      const parent = path.reduce<Json>((o, k) => o[k] as Json, raw);
      parent.zzUnknownSetting = true;
      const where = [...path, 'zzUnknownSetting'].join('.');
      expect({ where, paths: problem(raw).problems.map((p) => p.path) }).toEqual({
        where,
        paths: expect.arrayContaining([where]),
      });
    }
  });

  it('reports every problem at once, each printed once', () => {
    const raw = base();
    raw.vendors.upkeep.apiVersoin = 'x';
    raw.runtime.maxReceiveCount = 0;
    raw.flows[DOWNTIME].minimumMinutes = 0;
    const error = problem(raw);
    expect(error.problems.map((p) => p.path).sort()).toEqual(
      ['runtime.maxReceiveCount', `flows.${DOWNTIME}.minimumMinutes`, 'vendors.upkeep.apiVersoin'].sort(),
    );
    expect(error.message.startsWith('invalid config in config/test.json (3 problems):\n')).toBe(true);
    for (const p of error.problems) expect(error.message.split(`${p.path}:`).length - 1).toBe(1);
  });

  it('suggests the closest flow id for a misspelt flow', () => {
    const raw = base();
    raw.flows['machinemetrics-downtime-to-upkeep-workorder'] = {};
    expect(problem(raw).message).toContain(`did you mean "${DOWNTIME}"`);
  });
});

describe('retry horizon', () => {
  it("defaults to 24 h, takes a flow's own horizon, and bundles it into that flow's worker only", async () => {
    const { planEntries } = await import('../../../lib/entries.ts');
    const raw = base();
    raw.flows[DOWNTIME].retryHorizonSeconds = 7200;
    const deployment = validateDeployment(raw, flows, 'config/test.json');
    expect(deployment.runtime.retry.horizonSeconds).toBe(86_400);
    const workers = planEntries(deployment).filter((e) => e.kind === 'worker');
    const horizonOf = (id: string) =>
      workers.find((e) => e.id === `${id}-worker`)?.settings.runtime.retry?.horizonSeconds;
    expect(horizonOf(DOWNTIME)).toBe(7200);
    const other = deployment.enabled.find((e) => e.flow.id !== DOWNTIME)?.flow.id ?? '';
    expect(horizonOf(other)).toBe(86_400);
  });

  it.each([
    [
      `flows.${DOWNTIME}.retryHorizonSeconds`,
      (c: Json) => (((c.flows as Json)[DOWNTIME] as Json).retryHorizonSeconds = 30),
    ],
    [
      `flows.${DOWNTIME}.retryHorizonSeconds`,
      (c: Json) => (((c.flows as Json)[DOWNTIME] as Json).retryHorizonSeconds = '24h'),
    ],
    [
      `flows.${DOWNTIME}.retryHorizonSeconds`,
      (c: Json) => (((c.flows as Json)[DOWNTIME] as Json).retryHorizonSeconds = 20 * 86_400),
    ],
    ['runtime.retry.horizonSeconds', (c: Json) => (c.runtime = { retry: { horizonSeconds: 15 * 86_400 } })],
    ['runtime.retry.maxDelaySeconds', (c: Json) => (c.runtime = { retry: { maxDelaySeconds: 43_200 } })],
  ])('refuses a bad %s, naming it', (path, set) => {
    const raw = base();
    set(raw);
    expect(problem(raw).problems.map((p) => p.path)).toContain(path);
  });

  it('names the new key when an old config still says transientBudgetSeconds', () => {
    const raw = base();
    raw.runtime = { retry: { transientBudgetSeconds: 3600 } };
    const error = problem(raw);
    expect(error.path).toBe('runtime.retry.transientBudgetSeconds');
    expect(error.message).toMatch(/unknown key "transientBudgetSeconds"/);
  });
});

describe('unknownKeys on every schema shape', () => {
  const schema = z.object({
    list: z.optional(z.array(z.object({ name: z.string() }))),
    byId: z.optional(z.record(z.string(), z.object({ assetId: z.string() }))),
    either: z.optional(z.union([z.object({ kind: z.literal('a'), a: z.number() }), z.string()])),
    loose: z.optional(z.looseObject({ known: z.optional(z.string()) })),
    strict: z._default(z.strictObject({ level: z.optional(z.number()) }), {}),
  });

  it('finds them in arrays, records, union branches and strict objects, not in loose objects', () => {
    expect(
      unknownKeys(schema, {
        list: [{ name: 'a' }, { name: 'b', nmae: 'typo' }],
        byId: { m1: { assetId: 'x', asetId: 'y' } },
        either: { kind: 'a', a: 1, b: 2 },
        loose: { anything: true },
        strict: { levle: 2 },
      }).map((p) => p.path),
    ).toEqual(['list[1].nmae', 'byId.m1.asetId', 'either.b', 'strict.levle']);
  });

  it('finds them in the branch a discriminated union names, though the value fails it there', () => {
    const tagged = z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('a'), n: z.number() }),
      z.strictObject({ kind: z.literal('b') }),
    ]);
    expect(unknownKeys(tagged, { kind: 'a', n: 1, nn: 2 })).toEqual([
      { path: 'nn', message: 'unknown key "nn" (did you mean "n"?)' },
    ]);
    expect(unknownKeys(tagged, { kind: 'b', n: 1 }).map((p) => p.path)).toEqual(['n']);
    expect(unknownKeys(tagged, { kind: 'c', n: 1 })).toEqual([]);
  });

  it('suggests only close keys', () => {
    expect(closestKey('prority', ['priority', 'category'])).toBe('priority');
    expect(closestKey('PRIORITY', ['priority'])).toBe('priority');
    expect(closestKey('colour', ['priority', 'category'])).toBeUndefined();
  });
});

describe('config files', () => {
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('names the file, line and column of a JSON syntax error, and shows the line', () => {
    const text = readFileSync('config/default.json', 'utf8').replace('"upkeep": {', '"upkeep": {,');
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes('"upkeep": {,')) + 1;
    const column = (lines[line - 1]?.indexOf('{,') ?? 0) + 2;
    const path = write('comma.json', text);
    expect(() => loadDeployment(path, flows)).toThrow(
      `cannot read ${path}: not valid JSON at line ${line}, column ${column}`,
    );
    expect(() => loadDeployment(path, flows)).toThrow('"upkeep": {,');
  });

  it.each([
    ['mid-file', '{\n  "flows": {},\n  "name": Millwright,\n  "vendors": {}\n}\n', 3, 11],
    ['in a short file', '{"a": x,\n "b": 1\n}\n', 1, 7],
    ['near the start', '{"a": x,\n "flows": {}, "vendors": {}, "name": "n"\n}\n', 1, 7],
    ['near the end', '{\n  "flows": {},\n  "vendors": {},\n  "name": x}', 4, 11],
  ])(
    'names the line and column of an unexpected token (%s), which Node reports without a position',
    (_where, text, line, column) => {
      const path = write('token.json', text);
      expect(() => loadDeployment(path, flows)).toThrow(`not valid JSON at line ${line}, column ${column}`);
      // The line is shown below the message; Node's quote of the text around it is not repeated.
      expect(() => loadDeployment(path, flows)).not.toThrow(/is not valid JSON/);
    },
  );

  it('names the end of a truncated file', () => {
    const path = write('truncated.json', '{\n  "flows": ');
    expect(() => loadDeployment(path, flows)).toThrow(/not valid JSON at line 2, column 12/);
  });

  it('names the secrets file (not "config") for a syntax error in it', () => {
    const path = write('secrets.local.json', '{ "millwright/upkeep": { "email": "a" ');
    expect(() => readSecretsFile(path)).toThrow(`invalid secrets: cannot read ${path}: not valid JSON`);
  });

  it.each([
    [
      'an unquoted value',
      '{\n  "millwright/upkeep": {\n    "email": "a",\n    "password": Pw-never-log-7f3c9a1e\n  }\n}\n',
    ],
    [
      'a missing comma',
      '{\n  "millwright/mobility-work": {\n    "apiKey": "mw-Key-never-log-7f3c9a1e"\n    "webhookSecrets": ["whsec-never-log-7f3c9a1e"]\n  }\n}\n',
    ],
  ])(
    'secrets in the logs: a syntax error in the secrets file (%s) names file, line and column but shows no value',
    (_what, text) => {
      const path = write('secrets-syntax.json', text);
      let message = '';
      try {
        readSecretsFile(path);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(new RegExp(`cannot read ${path}: not valid JSON at line \\d+, column \\d+`));
      expect(message).not.toMatch(/never-log|Pw-|7f3c9a1e/);
    },
  );

  it('names the secrets file and the secret field for a bad secret, with a suggestion', async () => {
    const secrets = sandboxSecrets() as Record<string, Json>;
    const mw = secrets['millwright/mobility-work'] as Json;
    mw.webhookSecret = mw.webhookSecrets;
    delete mw.webhookSecrets;
    await expect(
      startSandbox({ secrets, secretsFile: 'sandbox/secrets.local.json', basePort: 0 }),
    ).rejects.toThrow(
      'invalid secrets in sandbox/secrets.local.json:\n  - millwright/mobility-work.webhookSecret: unknown key "webhookSecret" (did you mean "webhookSecrets"?)',
    );
  });
});

describe('circuit breaker policy', () => {
  it('defaults runtime.circuitBreaker and alarms.circuitOpenMinutes', () => {
    const raw = base();
    delete raw.runtime.circuitBreaker;
    delete raw.alarms?.circuitOpenMinutes;
    const deployment = validateDeployment(raw, flows);
    expect(deployment.runtime.circuitBreaker).toEqual({
      failureThreshold: 5,
      windowSeconds: 60,
      openSeconds: 30,
      maxOpenSeconds: 300,
    });
    expect(deployment.alarms.circuitOpenMinutes).toBe(15);
    const partial = base();
    partial.runtime.circuitBreaker = { openSeconds: 10 };
    expect(validateDeployment(partial, flows).runtime.circuitBreaker).toMatchObject({
      openSeconds: 10,
      failureThreshold: 5,
    });
  });

  it.each([
    ['failureThreshold', 0],
    ['failureThreshold', 2.5],
    ['windowSeconds', 0],
    ['openSeconds', 43_201],
    ['maxOpenSeconds', -1],
  ])('refuses runtime.circuitBreaker.%s = %p, naming the path', (key, value) => {
    const raw = base();
    raw.runtime.circuitBreaker = { [key]: value };
    expect(problem(raw).problems.map((p) => p.path)).toEqual([`runtime.circuitBreaker.${key}`]);
  });

  it('refuses Lambda JSON logs at a WARN or ERROR application level (they would drop the metric lines)', () => {
    for (const logLevel of ['WARN', 'ERROR']) {
      const raw = base();
      raw.runtime.systemLogLevel = 'WARN';
      raw.runtime.logLevel = logLevel;
      const error = problem(raw);
      expect(error.path).toBe('runtime.systemLogLevel');
      expect(error.message).toContain(`needs runtime.logLevel DEBUG or INFO (it is ${logLevel})`);
    }
    const ok = base();
    ok.runtime.systemLogLevel = 'WARN';
    ok.runtime.logLevel = 'INFO';
    expect(() => validateDeployment(ok, flows)).not.toThrow();
  });

  it('refuses a maximum open period shorter than the first, an unknown key and a bad alarm minute count', () => {
    const raw = base();
    raw.runtime.circuitBreaker = { openSeconds: 60, maxOpenSeconds: 30 };
    const error = problem(raw);
    expect(error.path).toBe('runtime.circuitBreaker.maxOpenSeconds');
    expect(error.message).toContain('runtime.circuitBreaker.maxOpenSeconds: must be >= openSeconds (60)');

    const typo = base();
    typo.runtime.circuitBreaker = { openSecond: 60 };
    expect(problem(typo).message).toContain(
      'runtime.circuitBreaker.openSecond: unknown key "openSecond" (did you mean "openSeconds"?)',
    );

    const alarm = base();
    alarm.alarms = { ...(alarm.alarms ?? {}), circuitOpenMinutes: 0 };
    expect(problem(alarm).problems.map((p) => p.path)).toEqual(['alarms.circuitOpenMinutes']);
  });
});

describe('state table billing (runtime.stateTable)', () => {
  const withTable = (stateTable: unknown) => {
    const raw = base();
    raw.runtime = { ...(raw.runtime ?? {}), stateTable };
    return raw;
  };

  it('is on demand when left out', () => {
    const raw = base();
    delete raw.runtime?.stateTable;
    expect(validateDeployment(raw, flows).runtime.stateTable).toEqual({ billing: 'on-demand' });
    expect(validateDeployment({}, flows).runtime.stateTable).toEqual({ billing: 'on-demand' });
  });

  it('fills every provisioned setting it is not given with its default', () => {
    expect(validateDeployment(withTable({ billing: 'provisioned' }), flows).runtime.stateTable).toEqual({
      billing: 'provisioned',
      writeCapacity: { min: 5, max: 200 },
      readCapacity: { min: 5, max: 100 },
      targetUtilizationPercent: 70,
    });
    const partial = withTable({
      billing: 'provisioned',
      writeCapacity: { max: 1000 },
      readCapacity: { min: 1 },
    });
    expect(validateDeployment(partial, flows).runtime.stateTable).toMatchObject({
      writeCapacity: { min: 5, max: 1000 },
      readCapacity: { min: 1, max: 100 },
    });
    const equal = withTable({ billing: 'provisioned', writeCapacity: { min: 40_000, max: 40_000 } });
    expect(validateDeployment(equal, flows).runtime.stateTable).toMatchObject({
      writeCapacity: { min: 40_000, max: 40_000 },
    });
  });

  it.each([
    ['writeCapacity.min', { writeCapacity: { min: 0 } }, 'must be >= 1'],
    ['writeCapacity.min', { writeCapacity: { min: 2.5 } }, 'expected int'],
    ['readCapacity.max', { readCapacity: { max: 40_001 } }, 'must be <= 40000'],
    ['readCapacity.max', { readCapacity: { max: '100' } }, 'expected number'],
    ['targetUtilizationPercent', { targetUtilizationPercent: 19 }, 'must be >= 20'],
    ['targetUtilizationPercent', { targetUtilizationPercent: 91 }, 'must be <= 90'],
  ])('refuses a bad runtime.stateTable.%s, naming it', (path, settings, message) => {
    const error = problem(withTable({ billing: 'provisioned', ...settings }));
    expect(error.problems).toEqual([{ path: `runtime.stateTable.${path}`, message }]);
  });

  it.each([
    ['writeCapacity', { min: 50, max: 10 }, 50],
    ['readCapacity', { min: 20, max: 19 }, 20],
    // A max under the default min (5) is refused too: the min the file leaves out still counts.
    ['writeCapacity', { max: 3 }, 5],
  ])('refuses a %s max below its min, naming the max', (key, range, min) => {
    const error = problem(withTable({ billing: 'provisioned', [key]: range }));
    expect(error.path).toBe(`runtime.stateTable.${key}.max`);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(
      `runtime.stateTable.${key}.max: must be >= ${key}.min (${min}): auto scaling keeps the capacity between min and max`,
    );
  });

  it('names the billing modes for an unknown or missing one', () => {
    for (const stateTable of [{ billing: 'pay-per-request' }, {}]) {
      expect(problem(withTable(stateTable)).problems).toEqual([
        { path: 'runtime.stateTable.billing', message: 'must be one of "on-demand", "provisioned"' },
      ]);
    }
  });

  it('names a misspelt key in the provisioned settings, and capacity given with on-demand billing', () => {
    expect(problem(withTable({ billing: 'provisioned', writeCapacty: { max: 10 } })).problems).toEqual([
      {
        path: 'runtime.stateTable.writeCapacty',
        message: 'unknown key "writeCapacty" (did you mean "writeCapacity"?)',
      },
    ]);
    expect(problem(withTable({ billing: 'provisioned', writeCapacity: { maximum: 10 } })).path).toBe(
      'runtime.stateTable.writeCapacity.maximum',
    );
    expect(problem(withTable({ billing: 'on-demand', readCapacity: { min: 5 } })).problems).toEqual([
      {
        path: 'runtime.stateTable.readCapacity',
        message: 'unknown key "readCapacity" (known keys: billing)',
      },
    ]);
  });

  it('is accepted by the sandbox (`npm start`), whose local engine has no billing to set', async () => {
    const sandbox = await startSandbox({
      config: withTable({ billing: 'provisioned', writeCapacity: { max: 400 } }),
      secrets: sandboxSecrets(),
      basePort: 0,
      log: silentLog,
    });
    await sandbox.close();
  });
});
