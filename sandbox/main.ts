/**
 * `npm start`: run Millwright on this machine with no AWS account. Starts the local engines, the
 * vendor simulators, the ingress, the event-source-mapping loop and the scheduler; prints every
 * URL and writes them to .sandbox/endpoints.json. Ctrl-C stops it.
 *
 * Environment (all optional):
 *   MILLWRIGHT_CONFIG        deployment config file (default config/default.json)
 *   MILLWRIGHT_SANDBOX_PORT  first port (default 8900; 0 = random ports)
 *   MILLWRIGHT_POLL_SECONDS  scheduler interval (default 10)
 *   MILLWRIGHT_VENDORS       `simulated` (default) or `real` (use the config's vendor URLs)
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { MillwrightError } from '../functions/core/errors.ts';
import { consoleLog } from './log.ts';
import { startSandbox } from './runtime.ts';
import { readSecretsFile } from './secrets.ts';

const SECRETS_FILE = 'sandbox/secrets.local.json';
const SECRETS_TEMPLATE = 'sandbox/secrets.template.json';

async function main(): Promise<void> {
  const started = Date.now();
  const log = consoleLog({ level: process.env.MILLWRIGHT_LOG_LEVEL === 'debug' ? 'debug' : 'info' });
  if (!existsSync(SECRETS_FILE)) {
    copyFileSync(SECRETS_TEMPLATE, SECRETS_FILE);
    log.info(`created ${SECRETS_FILE} from ${SECRETS_TEMPLATE} (sandbox values only; git-ignored)`);
  } else {
    // A vendor added since the file was created gets its sandbox secret; existing values are kept.
    const local = readSecretsFile(SECRETS_FILE);
    const missing = Object.entries(readSecretsFile(SECRETS_TEMPLATE)).filter(([name]) => !(name in local));
    if (missing.length > 0) {
      writeFileSync(
        SECRETS_FILE,
        `${JSON.stringify({ ...local, ...Object.fromEntries(missing) }, null, 2)}\n`,
      );
      log.info(`added ${missing.map(([name]) => name).join(', ')} to ${SECRETS_FILE} from the template`);
    }
  }
  mkdirSync('.sandbox', { recursive: true });
  const vendors = process.env.MILLWRIGHT_VENDORS === 'real' ? 'real' : 'simulated';
  const sandbox = await startSandbox({
    config: process.env.MILLWRIGHT_CONFIG ?? 'config/default.json',
    secrets: readSecretsFile(SECRETS_FILE),
    secretsFile: SECRETS_FILE,
    basePort: Number(process.env.MILLWRIGHT_SANDBOX_PORT ?? 8900),
    dataDir: '.sandbox/dynamodb',
    vendors,
    pollIntervalMs: Number(process.env.MILLWRIGHT_POLL_SECONDS ?? 10) * 1000,
    workerIntervalMs: 250,
    log,
  });
  writeFileSync('.sandbox/endpoints.json', `${JSON.stringify(sandbox.endpoints, null, 2)}\n`);

  const width = Math.max(...Object.keys(sandbox.endpoints).map((k) => k.length));
  const lines = [
    '',
    `Millwright sandbox is up (${((Date.now() - started) / 1000).toFixed(1)} s, vendors: ${vendors})`,
    ...Object.entries(sandbox.endpoints).map(([name, url]) => `  ${name.padEnd(width)}  ${url}`),
    '',
    `Flows: ${[...sandbox.flows.keys()].join(', ')}`,
    'Endpoints written to .sandbox/endpoints.json. Try (machine down 15 min ago, then watch the log):',
    sandbox.simulators.machinemetrics
      ? `  curl -XPOST ${sandbox.simulators.machinemetrics.url}/_sandbox/machines/0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c/down -H 'content-type: application/json' -d '{"at":"${new Date(Date.now() - 20 * 60_000).toISOString()}"}'`
      : '',
    sandbox.simulators.upkeep ? `  curl ${sandbox.simulators.upkeep.url}/_sandbox/state` : '',
    'Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.filter((l) => l !== '').join('\n')}\n\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping sandbox...\n');
    await sandbox.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
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
