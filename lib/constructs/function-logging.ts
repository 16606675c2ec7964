/**
 * `runtime.systemLogLevel`: Lambda's own log lines for every Millwright function. Unset, Lambda
 * keeps its plain-text default (START, END and REPORT lines on each invocation). Set, the
 * functions use Lambda's JSON log format with that system level (WARN drops START, END and
 * REPORT: about 400 bytes of CloudWatch Logs per invocation, `npm run bench:cost`) and with the
 * application level at `runtime.logLevel`, the level our logger already writes at (Lambda filters
 * by it too in JSON format, so the two must agree). Applied as an aspect, so every function the
 * stack makes gets the same setting without passing it through each construct. Our metric lines
 * (EMF) stay metrics in JSON format because they are written to stdout as they are, never through
 * `console.log`, which Lambda's JSON format would wrap in a `message` field.
 */
import type { IAspect } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

export type SystemLogLevel = 'DEBUG' | 'INFO' | 'WARN';
export type ApplicationLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export class FunctionLogging implements IAspect {
  constructor(private readonly levels: { application: ApplicationLogLevel; system: SystemLogLevel }) {}

  visit(node: IConstruct): void {
    if (!(node instanceof lambda.CfnFunction)) return;
    // The log group MillwrightFunction set stays; only the format and levels are added.
    const current = (node.loggingConfig ?? {}) as lambda.CfnFunction.LoggingConfigProperty;
    node.loggingConfig = {
      ...current,
      logFormat: 'JSON',
      applicationLogLevel: this.levels.application,
      systemLogLevel: this.levels.system,
    };
  }
}
