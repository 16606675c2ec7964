/**
 * The one Lambda function shape every Millwright function shares: Node 22 on arm64, 256 MB, a
 * CommonJS bundle built by the local esbuild (no Docker), its own log group with the configured retention,
 * and a role that may write to that log group and nothing else until a grant adds to it.
 */
import { join } from 'node:path';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { PROJECT_ROOT } from '../entries.ts';

/**
 * esbuild settings shared with bench/bundles.ts, so the bench measures what gets deployed.
 * The SDK v3 clients are bundled (tree-shaken, minified) instead of loaded from the runtime's copy:
 * init is mostly module loading, and the runtime's full packages cost 2-3x what the used parts do.
 * It also pins the SDK to the versions in package-lock.json, the ones the tests ran. The SDK's
 * default credential chain is replaced by the environment provider Lambda needs (credentials.ts).
 * ESM `module` entry points first, so esbuild can tree-shake them.
 * The output is one CommonJS file (`index.js`), which Lambda loads with `require`: about 8 ms less
 * init than the same code as an ESM `index.mjs` (bench/bundles.ts, side by side), since `require`
 * skips the ESM loader's async module jobs and the export facade it builds for every Node
 * built-in the bundle imports. Nothing here needs ESM: no top-level await, no `import.meta`.
 */
export const BUNDLE = {
  target: 'node22',
  format: 'cjs',
  external: [] as string[],
  /** Package -> module path relative to the project root (esbuild `alias`). */
  alias: { '@aws-sdk/credential-provider-node': './functions/runtime/lambda/credentials.ts' },
  mainFields: ['module', 'main'],
} as const;

export interface MillwrightFunctionProps {
  /** Absolute path of the generated entry file (lib/entries.ts). */
  entry: string;
  description: string;
  /** Names and ARNs only; never secret values. */
  environment?: Record<string, string>;
  timeout: Duration;
  logRetention: logs.RetentionDays;
  memorySize?: number;
}

export class MillwrightFunction extends NodejsFunction {
  /** The function's own log group (retention from config). */
  readonly functionLogGroup: logs.LogGroup;
  /** The execution role; grants add to it next to each resource. */
  readonly executionRole: iam.Role;

  constructor(scope: Construct, id: string, props: MillwrightFunctionProps) {
    // The log group is a sibling of the function, so it exists (with its retention) before the function runs.
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role,
      logGroup,
      tracing: lambda.Tracing.DISABLED,
      // No `--enable-source-maps`: the maps stay beside the bundle (external, not linked), so the flag
      // mapped nothing; linking them would cost ~40 ms of init (bench/bundles.ts) to read ~1 MB of map.
      environment: { ...props.environment },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.EXTERNAL,
        sourcesContent: false,
        target: BUNDLE.target,
        externalModules: [...BUNDLE.external],
        mainFields: [...BUNDLE.mainFields],
        esbuildArgs: {
          '--alias': Object.entries(BUNDLE.alias).map(([pkg, path]) => `${pkg}=${path}`),
        },
      },
    });
    this.functionLogGroup = logGroup;
    this.executionRole = role;

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22 on purpose: bundles target node22 and the stack (middy 7, Powertools 2.35, SDK v3) is tested on it; moving to a newer runtime is a deliberate change together with the bundle target.',
    });
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaLatestVersion',
      reason:
        'Pinned to Node.js 22 on purpose (see AwsSolutions-L1): bundles target node22 and the runtime is tested on it.',
    });
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'X-Ray is billed per trace and would add xray:Put* on Resource *; each event is already traced end to end by its run-log entries (RUN#, EVENT#, SUBJECT#) and correlated structured logs.',
    });
  }

  /**
   * Read access to each named secret (by vendor), and only to it. The name goes to the function in
   * its bundled settings; the value is read at run time and never leaves the function.
   */
  grantReadSecrets(secretNames: Readonly<Record<string, string>>): void {
    for (const [vendor, name] of Object.entries(secretNames)) {
      secretsmanager.Secret.fromSecretNameV2(this, `${vendor}Secret`, name).grantRead(this);
    }
  }
}
