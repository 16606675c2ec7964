/**
 * The runtime env of a worker or poller: `lambdaEnv` with every vendor request sent through the
 * circuit breaker of its vendor account (core/breaker.ts), shared with every other function through
 * the state table. Its transitions go to the run log of `flowId` (the function's flow) and each
 * refusal or transition is an EMF line (`CircuitOpen`, `CircuitOpenSeconds` per vendor: the alarm's
 * metric). A module of its own so the ingress, which calls no vendor, bundles none of it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { breakerTransport, probeLeaseFor } from '../../core/breaker.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import { breakerEmfLine } from '../metrics.ts';
import { type LambdaSettings, lambdaEnv } from './common.ts';

export function vendorEnv(
  settings: LambdaSettings,
  logger: Logger,
  flowId?: string,
  write: (line: string) => void = (line) => process.stdout.write(line),
): RuntimeEnv {
  const env = lambdaEnv(settings, logger);
  return {
    ...env,
    transport: breakerTransport({
      state: env.state,
      log: env.log,
      ...(settings.runtime.circuitBreaker ? { policy: settings.runtime.circuitBreaker } : {}),
      probeLeaseMs: probeLeaseFor(settings.vendors),
      ...(flowId !== undefined ? { flowId } : {}),
      onEvent: (event) => {
        if (event.kind === 'closed') return;
        write(`${breakerEmfLine(event.vendor, event.openForMs, new Date(), settings.deployment)}\n`);
      },
    }),
  };
}
