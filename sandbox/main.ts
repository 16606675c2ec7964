/**
 * `npm start`: run Millwright on this machine with no AWS account. Starts the local engines, the
 * vendor simulators, the ingress, the event-source-mapping loop and the scheduler; prints every
 * URL and writes them to <data folder>/endpoints.json. Ctrl-C stops it. Flags and environment: see
 * USAGE below (`npm start -- --help`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { operatorName } from '../cli/commands/failures.ts';
import { portAfter, startConsoleFrom } from '../console/server.ts';
import { readJsonFile } from '../functions/config/json-file.ts';
import { MillwrightError } from '../functions/core/errors.ts';
import { sandboxTarget } from '../operator/sandbox-target.ts';
import { readSandboxEnv } from './env.ts';
import { consoleLog } from './log.ts';
import { startSandbox } from './runtime.ts';
import { readSecretsFile, sandboxSecrets } from './secrets.ts';
import { writeFileAtomic } from './simulators/persistence.ts';

const SECRETS_FILE = 'sandbox/secrets.local.json';
const DEFAULT_DATA_DIR = '.sandbox';

const USAGE_LINE = 'Usage: npm start -- [--reset] [--data <dir>] [--help]';
const USAGE = `${USAGE_LINE}

Runs Millwright on this machine with no AWS account: local DynamoDB, SQS and Secrets Manager, the
vendor simulators, the webhook ingress and the scheduler. Ctrl-C stops it.

Options:
  --reset        delete the sandbox data (DynamoDB tables, queued messages and simulator state,
                 always together) before starting
  --data <dir>   the sandbox data folder (default ${DEFAULT_DATA_DIR}); one sandbox at a time per folder
  -h, --help     print this help and exit

Environment (all optional):
  MILLWRIGHT_CONFIG        deployment config file (default config/default.json)
  MILLWRIGHT_SANDBOX_PORT  first port; services take consecutive ports (default 8900; 0 = random ports)
  MILLWRIGHT_POLL_SECONDS  scheduler interval in seconds (default 10)
  MILLWRIGHT_VENDORS       simulated (default) or real (the config's vendor URLs)
  MILLWRIGHT_LOG_LEVEL     debug, info (default), warn or error
`;

/**
 * The config's `vendors` as written (for their secret names), before validation: a bad config is
 * reported, naming the field, when the sandbox starts.
 */
function configuredVendors(path: string): Record<string, { secretName?: unknown } | undefined> {
  const raw = readJsonFile(path, 'config') as { vendors?: unknown } | null;
  const vendors = typeof raw === 'object' && raw !== null ? raw.vendors : undefined;
  return typeof vendors === 'object' && vendors !== null
    ? (vendors as Record<string, { secretName?: unknown }>)
    : {};
}

/** Bad command line: exit code 2, like most CLIs. */
class UsageError extends MillwrightError {}

interface Flags {
  reset: boolean;
  dataDir: string;
  help: boolean;
}

function parseFlags(args: string[]): Flags {
  // `npm start --reset` (no `--`) gives the flag to npm, which passes it on only as an env var (and
  // `--data <dir>` leaves `<dir>` behind as a stray argument): say so rather than ignore it.
  for (const flag of ['reset', 'data']) {
    const given = args.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
    if (process.env[`npm_config_${flag}`] !== undefined && !given) {
      throw new UsageError(
        `npm took --${flag} as its own option; put \`--\` before the sandbox's flags: npm start -- --${flag}\n${USAGE_LINE}`,
      );
    }
  }
  let values: { reset?: boolean; data?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        reset: { type: 'boolean' },
        data: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE_LINE} (npm start -- --help for more)`, {
      cause: error,
    });
  }
  if (values.data === '') throw new UsageError(`--data needs a folder\n${USAGE_LINE}`);
  return {
    reset: values.reset ?? false,
    dataDir: values.data ?? DEFAULT_DATA_DIR,
    help: values.help ?? false,
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  const env = readSandboxEnv();
  const log = consoleLog({ level: env.MILLWRIGHT_LOG_LEVEL });
  // The connectors' sandbox secrets, under the secret names the config gives them.
  const template = sandboxSecrets(configuredVendors(env.MILLWRIGHT_CONFIG));
  if (!existsSync(SECRETS_FILE)) {
    writeFileAtomic(SECRETS_FILE, `${JSON.stringify(template, null, 2)}\n`);
    log.info(
      `created ${SECRETS_FILE} from the connectors' sandbox secrets (sandbox values only; git-ignored)`,
    );
  } else {
    // A vendor added since the file was created gets its sandbox secret; existing values are kept.
    const local = readSecretsFile(SECRETS_FILE);
    const missing = Object.entries(template).filter(([name]) => !(name in local));
    if (missing.length > 0) {
      writeFileAtomic(
        SECRETS_FILE,
        `${JSON.stringify({ ...local, ...Object.fromEntries(missing) }, null, 2)}\n`,
      );
      log.info(
        `added ${missing.map(([name]) => name).join(', ')} to ${SECRETS_FILE} (connectors' sandbox secrets)`,
      );
    }
  }
  // The data folder is made by startSandbox (lockDataDir), which says clearly when it cannot be.
  const endpointsFile = join(flags.dataDir, 'endpoints.json');
  const vendors = env.MILLWRIGHT_VENDORS;
  const sandbox = await startSandbox({
    config: env.MILLWRIGHT_CONFIG,
    secrets: readSecretsFile(SECRETS_FILE),
    secretsFile: SECRETS_FILE,
    basePort: env.MILLWRIGHT_SANDBOX_PORT,
    dataDir: flags.dataDir,
    reset: flags.reset,
    vendors,
    pollIntervalMs: env.MILLWRIGHT_POLL_SECONDS * 1000,
    runWorkers: true,
    log,
  });
  // The operator console on this sandbox, in process, on the port after the services (random with 0).
  const target = sandboxTarget(sandbox, `sandbox (${flags.dataDir})`);
  const consoleServer = await startConsoleFrom(
    { target, by: operatorName() },
    env.MILLWRIGHT_SANDBOX_PORT === 0 ? 0 : portAfter(Object.values(sandbox.endpoints)),
  );
  // Without the token: it is this process's secret, printed below for the person who started it.
  const endpoints = { ...sandbox.endpoints, console: `http://127.0.0.1:${consoleServer.port}/` };
  // Atomic, like every file the sandbox rewrites: a kill mid-write leaves the old or the new file.
  writeFileAtomic(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);

  const width = Math.max(...Object.keys(endpoints).map((k) => k.length));
  const lines = [
    '',
    `Millwright sandbox is up (${((Date.now() - started) / 1000).toFixed(1)} s, vendors: ${vendors})`,
    ...Object.entries(endpoints).map(([name, url]) => `  ${name.padEnd(width)}  ${url}`),
    '',
    `Console: ${consoleServer.url}`,
    "  (the operator console in your browser; the link carries this session's token: keep it to yourself)",
    `Flows: ${[...sandbox.flows.keys()].join(', ')}`,
    `Data in ${flags.dataDir} (kept across restarts; npm start -- --reset starts fresh).`,
    `Endpoints written to ${endpointsFile}. Try (machine down 15 min ago, then watch the log):`,
    sandbox.simulators.machinemetrics
      ? `  curl -XPOST ${sandbox.simulators.machinemetrics.url}/_sandbox/machines/0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c/down -H 'content-type: application/json' -d '{"at":"${new Date(Date.now() - 20 * 60_000).toISOString()}"}'`
      : '',
    sandbox.simulators.upkeep ? `  curl ${sandbox.simulators.upkeep.url}/_sandbox/state` : '',
    `Operate it from another terminal: npx millwright status, npx millwright runs --since 1h${flags.dataDir === DEFAULT_DATA_DIR ? '' : ` (add --sandbox ${flags.dataDir})`}`,
    'Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.filter((l) => l !== '').join('\n')}\n\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping sandbox...\n');
    await consoleServer.close();
    target.close();
    await sandbox.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`npm start: ${error.message}\n`);
    process.exit(2);
  }
  const message =
    error instanceof MillwrightError ? error.message : error instanceof Error ? error.stack : String(error);
  process.stderr.write(`sandbox failed to start: ${message}\n`);
  if ((error as { code?: string }).code === 'EADDRINUSE') {
    process.stderr.write(
      'A port is in use: set MILLWRIGHT_SANDBOX_PORT to another base port, or 0 for random ports.\n',
    );
  }
  process.exit(1);
});
