/** What every demo scene shares: the running sandbox, ways to drive it, and the check tally. */
import type { Clock } from '../clock.ts';
import { sandboxControl } from '../control.ts';
import type { Sandbox } from '../runtime.ts';

export const MINUTE = 60_000;

/** The connectors' sandbox secrets (sandbox/secrets.ts): secret name -> its fields. */
export type DemoSecrets = Record<string, Record<string, string>>;

export interface DemoResult {
  passed: number;
  failed: number;
}

export interface DemoContext {
  sandbox: Sandbox;
  control: ReturnType<typeof sandboxControl>;
  clock: Clock;
  secrets: DemoSecrets;
  /** Passed and failed so far. */
  result: DemoResult;
  /** One line of demo output (nothing when quiet). */
  out(line: string): void;
  /** Record a check and print it; `detail` is shown only when it failed. */
  check(name: string, ok: boolean, detail?: string): void;
  /** A step of the story, stamped with the sandbox clock. */
  step(title: string): void;
  /** A new part of the demo, usually one flow. */
  section(title: string): void;
}

export function createDemoContext(options: {
  sandbox: Sandbox;
  clock: Clock;
  secrets: DemoSecrets;
  out: (line: string) => void;
}): DemoContext {
  const { sandbox, clock, out } = options;
  const result: DemoResult = { passed: 0, failed: 0 };
  return {
    sandbox,
    control: sandboxControl(sandbox),
    clock,
    secrets: options.secrets,
    result,
    out,
    check(name, ok, detail = '') {
      if (ok) result.passed++;
      else result.failed++;
      out(`  ${ok ? '✔' : '✘'} ${name}${ok || !detail ? '' : `: ${detail}`}`);
    },
    step: (title) => out(`\n▶ ${title} (sandbox clock ${clock.now().toISOString().slice(11, 16)})`),
    section: (title) => out(`\n━━ ${title}`),
  };
}

/** The demo drives simulators directly, so it cannot run against real vendors. */
export class MissingSimulatorError extends Error {
  constructor(readonly vendors: readonly string[]) {
    super(`the ${vendors.join(', ')} simulators are required`);
    this.name = 'MissingSimulatorError';
  }
}

/** The simulators the scenes drive directly. */
export function simulators(ctx: DemoContext) {
  const { upkeep, deepomatic } = ctx.sandbox.simulators;
  const mobilityWork = ctx.sandbox.simulators['mobility-work'];
  const clickMaint = ctx.sandbox.simulators['click-maint'];
  if (!upkeep || !mobilityWork || !clickMaint || !deepomatic)
    throw new MissingSimulatorError(['UpKeep', 'Mobility Work', 'Click Maint', 'Deepomatic']);
  return { upkeep, mobilityWork, clickMaint, deepomatic };
}

/** A flow's run log (its latest 2,000 entries). */
export const runsOf = (ctx: DemoContext, flowId: string) => ctx.sandbox.state.listRuns(flowId, 2000);
