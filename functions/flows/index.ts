/**
 * The flow registry: the single list that the CDK stack (lib/) and the sandbox both read.
 * Adding a flow = one file in this folder + one line here.
 */
import type { AnyFlow } from '../core/flow.ts';
import { flow as machineMetricsDowntimeToUpKeep } from './machinemetrics-downtime-to-upkeep-work-order.ts';

export const flows: readonly AnyFlow[] = [machineMetricsDowntimeToUpKeep];

/** A flow lives in `functions/flows/<id>.ts`; lib/ bundles each worker from that file alone. */
export const flowModulePath = (id: string): string => `functions/flows/${id}.ts`;
