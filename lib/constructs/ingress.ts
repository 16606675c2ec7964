/**
 * The webhook ingress: one function that verifies, parses and enqueues each event on the queues of
 * the flows subscribed to its type, and only then acknowledges, reached in one of two ways
 * (`runtime.webhookEndpoint`):
 * - `http-api`: an HTTP API with a route per webhook receiver (stage throttling, an access log;
 *   $1.00 per million requests);
 * - `function-url`: the function's own URL, public (auth type NONE), every path passed to the
 *   function, which resolves the route itself (functions/runtime/routes.ts); no per-request charge,
 *   no throttling, no access log.
 * Either way the function authenticates every request (signature or URL token over the raw body)
 * before parsing it. The routing (event type -> queue names) is bundled into the function
 * (lib/entries.ts); its environment carries only the queues' common URL prefix, so it stays the
 * same size however many flows there are.
 */
import { Aws, Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { WebhookEndpoint } from '../../functions/config/deployment.ts';
import { splitRouteKey } from '../../functions/runtime/routes.ts';
import { type IngressEntry, secretNamesOf } from '../entries.ts';
import { grantStateAccess } from '../state-access.ts';
import { MillwrightFunction } from './millwright-function.ts';

/** The URL of a queue named `<name>` in this stack's account and region is this prefix + name. */
export const QUEUE_URL_PREFIX = `https://sqs.${Aws.REGION}.${Aws.URL_SUFFIX}/${Aws.ACCOUNT_ID}/`;

export interface IngressProps {
  entry: IngressEntry;
  /** The queues of the flows subscribed to webhook events (named as in the bundled routing). */
  queues: readonly sqs.IQueue[];
  table: dynamodb.ITable;
  logRetention: logs.RetentionDays;
  /** How vendors reach the function (`runtime.webhookEndpoint`). */
  endpoint: WebhookEndpoint;
  /** HTTP API stage throttling (`runtime.webhookRateLimit` / `runtime.webhookBurstLimit`); a function URL has none. */
  rateLimit: number;
  burstLimit: number;
}

/** The function URL metrics of the ingress (namespace AWS/Lambda, per function). */
const FUNCTION_URL_METRICS = {
  requests: 'UrlRequestCount',
  clientErrors: 'Url4xxCount',
  serverErrors: 'Url5xxCount',
} as const;

/** `POST /webhooks/upkeep/{token}` -> method and path. */
export function parseRouteKey(routeKey: string): { method: apigwv2.HttpMethod; path: string } {
  const { method, path } = splitRouteKey(routeKey);
  if (!Object.values(apigwv2.HttpMethod).includes(method as apigwv2.HttpMethod)) {
    throw new Error(`webhook route ${JSON.stringify(routeKey)} is not "<METHOD> /<path>"`);
  }
  return { method: method as apigwv2.HttpMethod, path };
}

export class Ingress extends Construct {
  readonly endpoint: WebhookEndpoint;
  /** The HTTP API and its stage (`http-api` only). */
  readonly api?: apigwv2.HttpApi;
  readonly stage?: apigwv2.HttpStage;
  /** The function's public URL (`function-url` only). */
  readonly functionUrl?: lambda.FunctionUrl;
  /** Where vendors send webhooks: `https://<host>`, without a trailing slash; a route's path follows. */
  readonly url: string;
  readonly ingress: MillwrightFunction;
  readonly routeKeys: string[];

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const { entry } = props;
    this.endpoint = props.endpoint;

    this.ingress = new MillwrightFunction(this, 'Ingress', {
      entry: entry.entryPath,
      description: `Millwright webhook ingress (${entry.vendors.join(', ')})`,
      timeout: Duration.seconds(15),
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        QUEUE_URL_PREFIX,
      },
    });
    Validations.of(this.ingress).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously (by API Gateway or through its function URL): a failure is a 5xx to the vendor, which redelivers; nothing is acknowledged before it is enqueued, so there is no asynchronous event to dead-letter.',
    });
    for (const queue of new Set(props.queues)) queue.grantSendMessages(this.ingress);
    // Nonces (replay protection) and delivery marks live in the state table (lib/state-access.ts).
    grantStateAccess(props.table, this.ingress, 'ingress');
    this.ingress.grantReadSecrets(secretNamesOf(entry));
    this.routeKeys = [...new Set(entry.receivers.map((r) => r.route.trim()))];
    // Every route key is checked at synth, whichever endpoint serves it (the function parses them too).
    const routes = this.routeKeys.map((routeKey) => ({ routeKey, ...parseRouteKey(routeKey) }));

    if (props.endpoint === 'function-url') {
      this.functionUrl = this.addFunctionUrl();
      // The URL ends with '/': `https://<id>.lambda-url.<region>.on.aws/` -> its host.
      this.url = `https://${Fn.select(2, Fn.split('/', this.functionUrl.url))}`;
      return;
    }

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Millwright webhooks',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      // Kept like every log group when the stack is deleted; not orphaned by a create that rolls back.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // The route key, never the path: an UpKeep path carries the URL token that authenticates it.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // The API's own endpoint has no trailing slash (the $default stage's URL has one).
    this.url = this.api.apiEndpoint;

    const integration = new HttpLambdaIntegration('Ingress', this.ingress);
    for (const { routeKey, method, path } of routes) {
      const route = new apigwv2.HttpRoute(this, `Route${routeKey.replace(/[^A-Za-z0-9]/g, '')}`, {
        httpApi: this.api,
        routeKey: apigwv2.HttpRouteKey.with(path, method),
        integration,
      });
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Vendors call webhooks without AWS credentials or a token an authorizer could check; the ingress function authenticates every request (signature or URL token over the raw body, constant time, replay window) before parsing it.',
      });
    }
    // The webhook URLs are root stack outputs (lib/millwright.ts: ApiUrl, WebhookUrl<Vendor>).
  }

  /**
   * A public function URL. AWS requires two resource-policy statements for it since October 2025:
   * `lambda:InvokeFunctionUrl` (auth type NONE) and `lambda:InvokeFunction` limited to calls that
   * come through a function URL; FunctionUrl adds both for auth type NONE (test/infra/function-url.test.ts
   * checks them). Auth type NONE because vendors call webhooks without AWS credentials; the function
   * authenticates every request (signature or URL token over the raw body, constant time, replay
   * window) before parsing it, exactly as behind the HTTP API. The cdk-nag packs this app applies
   * (AwsSolutions, Serverless) have no rule on function URL auth, so there is nothing to acknowledge.
   */
  private addFunctionUrl(): lambda.FunctionUrl {
    return this.ingress.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  }

  /** Requests, 4xx and 5xx answers at the endpoint (the API's or the function URL's), summed. */
  metric(which: keyof typeof FUNCTION_URL_METRICS, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    const options = { statistic: cloudwatch.Stats.SUM, ...props };
    if (this.api) {
      if (which === 'requests') return this.api.metricCount(options);
      if (which === 'clientErrors') return this.api.metricClientError(options);
      return this.api.metricServerError(options);
    }
    return new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: FUNCTION_URL_METRICS[which],
      dimensionsMap: { FunctionName: this.ingress.functionName },
      ...options,
    });
  }
}
