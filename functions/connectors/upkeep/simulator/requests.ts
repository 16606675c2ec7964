/** Work requests (reference §3.7): create (JSON or form body, as the doc's curl), list and get. */
import { json, type Route } from '../../../../sandbox/simulators/server.ts';
import { checkAsset } from './assets.ts';
import { ApiError, bad } from './errors.ts';
import { fieldSpec, listRoute } from './listing.ts';
import { api, requestBody } from './routing.ts';
import { nowIso, SIM_USER, type UpKeepWorld, upkeepId } from './state.ts';
import type { SimWorkRequest } from './types.ts';
import { checkMs, checkPriority, checkRequired, checkString } from './validation.ts';
import { deliverWebhook } from './webhooks.ts';

const REQUEST_FIELDS = new Set([
  'title',
  'description',
  'priority',
  'location',
  'asset',
  'team',
  'assignedToUser',
  'dueDate',
  'category',
]);
const REQUEST_FILTERS = new Set([
  'title',
  'location',
  'asset',
  'team',
  'assignedToUser',
  'category',
  'requestedByUser',
  'publicRequesterEmail',
]);
const REQUEST_DATE_FIELDS = ['dueDate', 'endDueDate', 'createdAt', 'updatedAt'];

const findRequest = (world: UpKeepWorld, id: string | undefined): SimWorkRequest => {
  const request = world.requests.find((r) => r.id === id);
  if (!request) throw new ApiError(404, 'Request not found');
  return request;
};

const renderRequest = (r: SimWorkRequest) => structuredClone(r);

function newRequest(world: UpKeepWorld, body: Record<string, unknown>): SimWorkRequest {
  for (const field of Object.keys(body)) if (!REQUEST_FIELDS.has(field)) throw bad(`${field} not in schema`);
  checkRequired(body, 'title');
  const now = nowIso(world);
  const str = (field: string) => (body[field] === undefined ? null : checkString(field, body[field], true));
  return {
    id: upkeepId(),
    title: checkString('title', body.title, false) as string,
    description: str('description'),
    priority: body.priority === undefined ? null : checkPriority(body.priority),
    status: 'open',
    asset: body.asset === undefined ? null : checkAsset(world, body.asset),
    location: str('location'),
    team: str('team'),
    assignedToUser: str('assignedToUser'),
    category: str('category'),
    dueDate: body.dueDate === undefined ? null : checkMs('dueDate', body.dueDate),
    requestedByUser: SIM_USER,
    createdAt: now,
    updatedAt: now,
  };
}

const requestSpec = fieldSpec<SimWorkRequest>(REQUEST_FILTERS, REQUEST_DATE_FIELDS, { tieKey: (r) => r.id });

export function requestRoutes(world: UpKeepWorld): Route[] {
  return [
    api(world, 'POST', '/requests', (req) => {
      const request = newRequest(world, requestBody(req));
      world.requests.push(request);
      deliverWebhook(world, 'REQUEST_CREATED', request.id, renderRequest(request));
      return json(200, { success: true, result: renderRequest(request) });
    }),

    listRoute(world, '/requests', requestSpec, () => world.requests, renderRequest),

    api(world, 'GET', '/requests/:id', (req) =>
      json(200, { success: true, result: renderRequest(findRequest(world, req.params.id)) }),
    ),
  ];
}
