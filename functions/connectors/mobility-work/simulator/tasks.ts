/**
 * Tasks: `POST /partners/v1/tasks` (201, no body, no task id) and the maintenance-plan trigger (204),
 * both scheduling a task and emitting `TaskWasScheduled`.
 */
import { randomBytes } from 'node:crypto';
import { json, type Route, type SimResponse } from '../../../../sandbox/simulators/server.ts';
import { MW_TYPED_ID_TYPES } from '../config.ts';
import { apiRoute } from './auth.ts';
import { resolveEquipment } from './equipment.ts';
import { MW_SIM_USERS, SEED_PLANS } from './seed.ts';
import type { MwSimTask, MwSimUser } from './types.ts';
import {
  equipmentIdentifier,
  invalidPayload,
  isoDateTime,
  isRecord,
  Problems,
  requiredString,
  UUID,
} from './validation.ts';
import { emit } from './webhooks.ts';
import { type MobilityWorkWorld, mwTime, now } from './world.ts';

const taskMetadata = (world: MobilityWorkWorld, task: MwSimTask): unknown =>
  Object.keys(task.metadata).length === 0 && world.config.emptyTaskMetadata === 'array'
    ? []
    : structuredClone(task.metadata);

/** The task fields every task webhook carries. */
export const taskContext = (world: MobilityWorkWorld, task: MwSimTask) => ({
  associatedTo: { equipment: { ...task.equipment } },
  tags: [],
  requiredSpareParts: [],
  metadata: taskMetadata(world, task),
});

const newTaskId = (world: MobilityWorkWorld): string => {
  for (;;) {
    const id = randomBytes(4).toString('hex');
    if (!world.tasks.some((t) => t.id === id)) return id;
  }
};

function scheduleTask(
  world: MobilityWorkWorld,
  fields: Omit<
    MwSimTask,
    'id' | 'legacyId' | 'state' | 'createdAt' | 'startedAt' | 'doneAt' | 'canceledAt' | 'cancelReason'
  >,
): MwSimTask {
  const id = newTaskId(world);
  const task: MwSimTask = {
    id,
    legacyId: id,
    state: 'scheduled',
    ...fields,
    createdAt: now(world),
    startedAt: null,
    doneAt: null,
    canceledAt: null,
    cancelReason: null,
  };
  world.tasks.push(task);
  emit(world, 'TaskWasScheduled', task.id, {
    taskId: task.id,
    scheduled: { at: task.createdAt, startDateTime: task.startDateTime, endDateTime: task.endDateTime },
    ...taskContext(world, task),
  });
  return task;
}

function resolveUser(value: unknown, pointer: string, p: Problems): MwSimUser | undefined {
  let type: 'native' | 'email';
  let raw: unknown = value;
  if (typeof value === 'number') type = 'native';
  else if (typeof value === 'string') type = 'email';
  else if (isRecord(value) && (value.type === 'native' || value.type === 'email')) {
    type = value.type;
    raw = value.value;
  } else {
    p.add(pointer, 'error.payload.type', { expected: 'integer|string|object' });
    return undefined;
  }
  const user = MW_SIM_USERS.find((u) =>
    type === 'native' ? u.id === raw : typeof raw === 'string' && u.email.toLowerCase() === raw.toLowerCase(),
  );
  if (!user) p.add(pointer, 'error.payload.assignees.unknown', { type, value: raw });
  return user;
}

function createTask(world: MobilityWorkWorld, body: unknown): SimResponse {
  const p = new Problems();
  if (!isRecord(body)) {
    p.add('', 'error.payload.type', { expected: 'object' });
    return invalidPayload(p);
  }
  const equipmentId = equipmentIdentifier(body.equipment, '/equipment', p);
  const found = equipmentId ? resolveEquipment(world, equipmentId) : undefined;
  if (equipmentId && !found) {
    p.add('/equipment', 'error.payload.equipment.unknown', {
      type: equipmentId.type,
      value: equipmentId.value,
    });
  }
  const description = requiredString(body.description, '/description', p, { min: 3, max: 3000 });
  const start = isoDateTime(body.startDateTime, '/startDateTime', p);
  // The doc sets no order between the two dates: an end before the start is accepted, as documented.
  const end = isoDateTime(body.endDateTime, '/endDateTime', p);
  if (body.allDay === undefined) p.add('/allDay', 'error.payload.required');
  else if (typeof body.allDay !== 'boolean') p.add('/allDay', 'error.payload.type', { expected: 'boolean' });
  const assignees: MwSimUser[] = [];
  if (body.assignees === undefined) p.add('/assignees', 'error.payload.required');
  else if (!Array.isArray(body.assignees)) p.add('/assignees', 'error.payload.type', { expected: 'array' });
  // No minimum in the doc ("List of users which will be assigned to the task"): `[]` is accepted.
  else {
    body.assignees.forEach((value: unknown, i) => {
      const user = resolveUser(value, `/assignees/${i}`, p);
      if (user && !assignees.includes(user)) assignees.push(user);
    });
  }
  let tags: unknown[] = [];
  if (body.tags !== undefined) {
    if (!Array.isArray(body.tags)) p.add('/tags', 'error.payload.type', { expected: 'array' });
    else {
      body.tags.forEach((tag: unknown, i) => {
        if (isRecord(tag)) {
          // "For tags you can mix both native and code identifiers" (api-doc.txt:1004).
          if (!(MW_TYPED_ID_TYPES.tags as readonly unknown[]).includes(tag.type)) {
            p.add(`/tags/${i}/type`, 'error.payload.choice', {
              choices: MW_TYPED_ID_TYPES.tags,
              value: tag.type,
            });
          } else if (tag.type === 'native' && !Number.isInteger(tag.value)) {
            // "NativeIntegerIdentifier (integer)" (api-doc.txt:1076).
            p.add(`/tags/${i}/value`, 'error.payload.type', { expected: 'integer' });
          } else if (tag.type === 'code' && (typeof tag.value !== 'string' || tag.value === '')) {
            p.add(`/tags/${i}/value`, 'error.payload.type', { expected: 'string' });
          }
        } else if (typeof tag !== 'string' && !(typeof tag === 'number' && Number.isInteger(tag))) {
          p.add(`/tags/${i}`, 'error.payload.type', { expected: 'integer|string|object' });
        }
      });
      tags = body.tags;
    }
  }
  if (body.checklist !== undefined && body.checklist !== null) {
    if (typeof body.checklist !== 'string' || !UUID.test(body.checklist)) {
      p.add('/checklist', 'error.payload.format', { format: 'uuid' });
    }
  }
  for (const flag of ['sendEmailToAssignees', 'inheritEquipmentTags', 'emailToCreator'] as const) {
    if (body[flag] !== undefined && typeof body[flag] !== 'boolean') {
      p.add(`/${flag}`, 'error.payload.type', { expected: 'boolean' });
    }
  }
  if (body.metadata !== undefined && !isRecord(body.metadata)) {
    p.add('/metadata', 'error.payload.type', { expected: 'object' });
  }
  if (!p.empty || !found || description === undefined || !start || !end) return invalidPayload(p);
  scheduleTask(world, {
    equipment: { ...found },
    description,
    startDateTime: start,
    endDateTime: end,
    allDay: body.allDay as boolean,
    assignees: assignees.map((u) => ({ ...u })),
    tags: structuredClone(tags),
    metadata: isRecord(body.metadata) ? structuredClone(body.metadata) : {},
    origin: { type: 'api' },
  });
  return json(201, null);
}

function triggerPlan(world: MobilityWorkWorld, planId: string, body: unknown): SimResponse {
  const p = new Problems();
  if (!UUID.test(planId))
    p.add('/maintenancePlanId', 'error.payload.format', { format: 'uuid', value: planId });
  const maintenancePlan = SEED_PLANS.find((m) => m.id === planId.toLowerCase());
  if (p.empty && !maintenancePlan) {
    p.add('/maintenancePlanId', 'error.payload.maintenance_plan.unknown', { value: planId });
  }
  if (body !== undefined && !isRecord(body)) p.add('', 'error.payload.type', { expected: 'object' });
  const metadata = isRecord(body) ? body.metadata : undefined;
  if (metadata !== undefined && !isRecord(metadata))
    p.add('/metadata', 'error.payload.type', { expected: 'object' });
  const found = maintenancePlan
    ? world.equipment.find((e) => e.id === maintenancePlan.equipmentId)
    : undefined;
  if (!p.empty || !maintenancePlan || !found) return invalidPayload(p);
  const startMs = world.config.clock.now().getTime();
  scheduleTask(world, {
    equipment: { ...found },
    description: maintenancePlan.description,
    startDateTime: mwTime(new Date(startMs)),
    endDateTime: mwTime(new Date(startMs + maintenancePlan.durationMinutes * 60_000)),
    allDay: false,
    assignees: MW_SIM_USERS.filter((u) => maintenancePlan.assigneeIds.includes(u.id)).map((u) => ({
      ...u,
    })),
    tags: [],
    metadata: isRecord(metadata) ? structuredClone(metadata) : {},
    origin: { type: 'maintenance-plan', maintenancePlanId: maintenancePlan.id },
  });
  return json(204, undefined);
}

export function taskRoutes(world: MobilityWorkWorld): Route[] {
  return [
    apiRoute(world, 'POST', '/partners/v1/tasks', (req) => createTask(world, req.json)),
    apiRoute(world, 'POST', '/partners/maintenance-plans/trigger/:planId', (req) =>
      triggerPlan(world, req.params.planId ?? '', req.json),
    ),
  ];
}
