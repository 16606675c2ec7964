/**
 * Every flow, from the registry (registry.ts: one line per flow file). The CDK stack (lib/) and the
 * sandbox both read this list; Lambda bundles never import it (a worker imports its own flow file).
 */
import type { AnyFlow } from '../core/flow.ts';
import * as registry from './registry.ts';

export const flows: readonly AnyFlow[] = Object.values(registry);

/** A flow lives in `functions/flows/<id>.ts`; lib/ bundles each worker from that file alone. */
export const flowModulePath = (id: string): string => `functions/flows/${id}.ts`;
