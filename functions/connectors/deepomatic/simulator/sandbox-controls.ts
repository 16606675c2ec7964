/**
 * The control API (no auth): outcomes, back-office reviews, task states and reset, as simulator
 * methods and as `/_sandbox/...` routes. By name = the most recently created work order of that name.
 */
import { json, type Route, type SimRequest, simControl } from '../../../../sandbox/simulators/server.ts';
import { isoMicro } from './catalogue.ts';
import {
  DeepomaticSimInputError,
  type DeepomaticSimOutcome,
  type DeepomaticSimState,
  type DeepomaticSimWorkOrder,
  mustFindWorkOrder,
} from './state.ts';
import { isRecord, isStringList } from './validation.ts';
import { type DeepomaticSimWorkOrderView, viewOf } from './view.ts';

export interface DeepomaticControls {
  setOutcome(
    idOrName: string,
    outcome: DeepomaticSimOutcome,
    options?: { review?: boolean; failedTasks?: string[] },
  ): DeepomaticSimWorkOrderView;
  /** A back-office review: `review_date` = `at` (default now). */
  review(idOrName: string, at?: Date): DeepomaticSimWorkOrderView;
  /** Set task states to any JSON (e.g. `{conform: false}`); progress is untouched. */
  setTaskStates(idOrName: string, states: Record<string, unknown>): DeepomaticSimWorkOrderView;
  /** Forget every work order (ids are never reused). */
  reset(): void;
}

export function deepomaticControls(state: DeepomaticSimState): DeepomaticControls {
  const { clock } = state;
  const view = (wo: DeepomaticSimWorkOrder) => viewOf(state, wo);
  const mustFind = (idOrName: string) => mustFindWorkOrder(state, idOrName);

  const setOutcome: DeepomaticControls['setOutcome'] = (idOrName, outcome, opts = {}) => {
    if (outcome !== 'passed' && outcome !== 'failed')
      throw new DeepomaticSimInputError(400, "outcome must be 'passed' or 'failed'");
    const wo = mustFind(idOrName);
    const failedTasks = opts.failedTasks ?? [];
    if (outcome === 'passed' && failedTasks.length > 0)
      throw new DeepomaticSimInputError(400, 'failedTasks only go with outcome failed');
    const unknown = failedTasks.filter((n) => !wo.tasks.some((t) => t.name === n));
    if (unknown.length > 0)
      throw new DeepomaticSimInputError(400, `work order ${wo.id} has no task(s) ${unknown.join(', ')}`);
    for (const task of wo.tasks) {
      task.state =
        outcome === 'passed' ? true : failedTasks.length > 0 ? !failedTasks.includes(task.name) : false;
    }
    const nowMs = clock.now().getTime();
    wo.progressOverride = 100;
    wo.writtenAtMs = nowMs;
    if (opts.review) wo.reviewDate = isoMicro(nowMs);
    return view(wo);
  };

  const review: DeepomaticControls['review'] = (idOrName, at) => {
    const wo = mustFind(idOrName);
    const ms = (at ?? clock.now()).getTime();
    wo.reviewDate = isoMicro(ms);
    wo.writtenAtMs = Math.max(wo.writtenAtMs, clock.now().getTime());
    return view(wo);
  };

  const setTaskStates: DeepomaticControls['setTaskStates'] = (idOrName, states) => {
    const wo = mustFind(idOrName);
    const unknown = Object.keys(states).filter((n) => !wo.tasks.some((t) => t.name === n));
    if (unknown.length > 0)
      throw new DeepomaticSimInputError(400, `work order ${wo.id} has no task(s) ${unknown.join(', ')}`);
    for (const task of wo.tasks) if (task.name in states) task.state = structuredClone(states[task.name]);
    wo.writtenAtMs = clock.now().getTime();
    return view(wo);
  };

  const reset = () => {
    state.workOrders = [];
  };

  return { setOutcome, review, setTaskStates, reset };
}

export function sandboxControlRoutes(state: DeepomaticSimState, controls: DeepomaticControls): Route[] {
  const outcomeFrom = (key: string) => (req: SimRequest, body: Record<string, unknown>) => {
    if (body.failedTasks !== undefined && !isStringList(body.failedTasks))
      throw new DeepomaticSimInputError(400, 'failedTasks must be a list of task names');
    return controls.setOutcome(req.params[key] ?? '', body.outcome as DeepomaticSimOutcome, {
      review: body.review === true,
      failedTasks: body.failedTasks as string[] | undefined,
    });
  };

  return [
    { method: 'POST', pattern: '/_sandbox/work-orders/:id/outcome', handler: simControl(outcomeFrom('id')) },
    {
      method: 'POST',
      pattern: '/_sandbox/work-orders/by-name/:name/outcome',
      handler: simControl(outcomeFrom('name')),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/work-orders/:id/review',
      handler: simControl((req, body) => {
        if (body.at !== undefined && (typeof body.at !== 'string' || Number.isNaN(Date.parse(body.at))))
          throw new DeepomaticSimInputError(400, 'at must be an ISO date-time');
        return controls.review(
          req.params.id ?? '',
          body.at === undefined ? undefined : new Date(body.at as string),
        );
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/work-orders/:id/task-states',
      handler: simControl((req, body) => {
        if (!isRecord(body.states)) throw new DeepomaticSimInputError(400, 'states must be an object');
        return controls.setTaskStates(req.params.id ?? '', body.states);
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/reset',
      handler: simControl(() => {
        controls.reset();
        return { reset: true };
      }),
    },
    {
      method: 'GET',
      pattern: '/_sandbox/state',
      handler: () =>
        json(200, {
          now: state.clock.now().toISOString(),
          engineers: [...state.engineers],
          workOrderTypes: state.types,
          progressPerMinute: state.rate,
          workOrders: state.workOrders.map((wo) => viewOf(state, wo)),
        }),
    },
  ];
}
