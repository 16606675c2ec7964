/**
 * The sandbox as an operator target: `.sandbox/endpoints.json` (written by `npm start`) names the
 * local DynamoDB, SQS and Secrets Manager, the simulators, each flow's queues, the state table and
 * the config file. The same operator functions then run against it as against a deployed stack.
 * `sandboxTarget(sandbox)` builds the same from a sandbox running in this process (demo, tests).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Deployment, loadDeployment } from '../functions/config/deployment.ts';
import { readJsonFile } from '../functions/config/json-file.ts';
import { MillwrightError } from '../functions/core/errors.ts';
import { secretsManagerSource } from '../functions/core/secrets.ts';
import { StateStore } from '../functions/core/state.ts';
import { flows as registry } from '../functions/flows/index.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../sandbox/dynamo.ts';
import type { Sandbox } from '../sandbox/runtime.ts';
import type { FlowResources, Target } from './target.ts';

export class SandboxNotRunningError extends MillwrightError {}

/** The keys of endpoints.json the operator needs beyond the URLs (see sandbox/runtime.ts). */
export const ENDPOINT_KEYS = { table: 'table', config: 'config' } as const;

interface SandboxParts {
  label: string;
  deployment: Deployment;
  endpoints: Record<string, string>;
  /** Vendor settings as the sandbox runs them (base URLs at the simulators). */
  vendors: Record<string, unknown>;
  /** The sandbox's time (manual in the demo and tests); default the wall clock. */
  now?: () => Date;
}

function buildTarget(parts: SandboxParts): Target {
  const { endpoints, deployment } = parts;
  const local = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamo = new DynamoDBClient({ endpoint: endpoints.dynamodb, ...local, maxAttempts: 2 });
  const state = new StateStore({
    tableName: endpoints[ENDPOINT_KEYS.table] ?? `${deployment.name}-state`,
    client: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    runRetentionDays: deployment.runtime.runLogRetentionDays,
  });
  const sqs = new SQSClient({ endpoint: endpoints.sqs, ...local, maxAttempts: 2 });
  const flows = new Map<string, FlowResources>();
  for (const { flow, config } of deployment.enabled) {
    const queueUrl = endpoints[`queue.${flow.id}`];
    const dlqUrl = endpoints[`dlq.${flow.id}`];
    if (!queueUrl || !dlqUrl) continue;
    flows.set(flow.id, { flow, config, queueUrl, dlqUrl });
  }
  const secretsClientConfig = { endpoint: endpoints.secretsmanager, ...local };
  const secrets = secretsManagerSource({ maxAgeSeconds: 300, clientConfig: secretsClientConfig });
  return {
    kind: 'sandbox',
    label: parts.label,
    deployment,
    state,
    sqs,
    flows,
    endpoints,
    ...(endpoints.ingress ? { ingressUrl: endpoints.ingress.replace(/\/$/, '') } : {}),
    // The sandbox's event-source mapping and scheduler read the flag in the state table themselves.
    switches: { set: async () => [] },
    secretsClientConfig,
    env: (log) => ({ vendors: parts.vendors, secrets, state, log, now: parts.now ?? (() => new Date()) }),
    close: () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

/** The vendor settings of the config with each simulated vendor's base URL from the endpoints. */
function simulatedVendors(
  deployment: Deployment,
  endpoints: Record<string, string>,
): Record<string, unknown> {
  const vendors: Record<string, unknown> = {};
  for (const [id, settings] of Object.entries(deployment.vendors as Record<string, object>)) {
    vendors[id] = endpoints[id] ? { ...settings, baseUrl: endpoints[id] } : settings;
  }
  return vendors;
}

/** The sandbox that `npm start` (or `npm start -- --data <dir>`) runs, from `<dir>/endpoints.json`. */
export function sandboxTargetFromDir(dataDir = '.sandbox'): Target {
  const file = join(dataDir, 'endpoints.json');
  if (!existsSync(file)) {
    throw new SandboxNotRunningError(
      `${file} not found: start the sandbox first (npm start${dataDir === '.sandbox' ? '' : ` -- --data ${dataDir}`}), or use --stack NAME for a deployed stack`,
    );
  }
  const endpoints = readJsonFile(file, 'sandbox endpoints') as Record<string, string>;
  const configPath = resolve(endpoints[ENDPOINT_KEYS.config] ?? 'config/default.json');
  const deployment = loadDeployment(configPath, registry);
  return buildTarget({
    label: `sandbox (${dataDir})`,
    deployment,
    endpoints,
    vendors: simulatedVendors(deployment, endpoints),
  });
}

/** A sandbox running in this process (the demo, integration tests). */
export function sandboxTarget(sandbox: Sandbox, label = 'sandbox (in process)'): Target {
  return buildTarget({
    label,
    deployment: sandbox.deployment,
    endpoints: sandbox.endpoints,
    vendors: sandbox.env.vendors as Record<string, unknown>,
    now: () => sandbox.clock.now(),
  });
}
