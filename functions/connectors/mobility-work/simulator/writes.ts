/**
 * The 202 writes of the bulk endpoints: the whole body is checked when the request comes, the write
 * is queued and applied `applyDelayMs` (real time) later, in order; `settle()` applies them at once.
 * Items naming an unknown record are dropped into `rejectedItems` (MW reports them nowhere).
 */
import type { Route } from '../../../../sandbox/simulators/server.ts';
import { json } from '../../../../sandbox/simulators/server.ts';
import { apiRoute } from './auth.ts';
import type { MwSimPendingWrite } from './types.ts';
import { bulkArray, invalidPayload, Problems } from './validation.ts';
import { logTo, type MobilityWorkWorld, now, type PendingEntry } from './world.ts';

function applyUpTo(world: MobilityWorkWorld, id: number): void {
  // Once closed, pending writes belong to the saved state (and the next instance).
  if (world.closed) return;
  let applied = false;
  while (world.pending.length > 0 && (world.pending[0]?.record.id ?? Number.POSITIVE_INFINITY) <= id) {
    const entry = world.pending.shift() as PendingEntry;
    clearTimeout(entry.timer);
    world.bulkAppliers.get(entry.record.endpoint)?.(entry.record.items, entry.record.id);
    applied = true;
  }
  if (applied) commitApplied(world);
}

/** A 202 write applied on a timer changes state outside any request: save it then. */
function commitApplied(world: MobilityWorkWorld): void {
  try {
    world.commit();
  } catch (error) {
    // No caller to answer: say it where the sandbox's operator sees it.
    console.error(`[mobility-work-sim] ${(error as Error).message}`);
  }
}

export function scheduleWrite(world: MobilityWorkWorld, record: MwSimPendingWrite): void {
  const timer = setTimeout(() => applyUpTo(world, record.id), world.config.applyDelayMs);
  timer.unref();
  world.pending.push({ record, timer });
}

function queueWrite(world: MobilityWorkWorld, endpoint: string, items: unknown[]): void {
  const id = ++world.writeCounter;
  scheduleWrite(world, { id, endpoint, acceptedAt: now(world), items: structuredClone(items) });
}

/** Stops the timers of the pending writes (they stay in `world.pending` until the caller drops them). */
export function stopPendingTimers(world: MobilityWorkWorld): void {
  for (const entry of world.pending) clearTimeout(entry.timer);
}

export function reject(
  world: MobilityWorkWorld,
  writeId: number,
  endpoint: string,
  index: number,
  identifier: unknown,
  reason: string,
): void {
  logTo(world, world.rejectedItems, { writeId, endpoint, index, identifier, reason });
}

/** Apply every pending 202 write now, then wait for every delivery in flight (retries included). */
export async function settle(world: MobilityWorkWorld): Promise<void> {
  for (;;) {
    applyUpTo(world, Number.POSITIVE_INFINITY);
    const tail = world.queue;
    await tail;
    if (world.pending.length === 0 && tail === world.queue) return;
  }
}

/** A bulk 202 route: validate the whole body synchronously, queue the write. */
export function bulkRoute<T>(
  world: MobilityWorkWorld,
  method: string,
  path: string,
  parseItem: (item: unknown, index: number, p: Problems) => T | undefined,
  apply: (items: T[], writeId: number, endpoint: string) => void,
  premiumOnly = false,
): Route {
  const endpoint = `${method} ${path}`;
  const parseAll = (raw: unknown[], p: Problems): T[] => {
    const items: T[] = [];
    raw.forEach((item, index) => {
      const parsed = parseItem(item, index, p);
      if (parsed !== undefined) items.push(parsed);
    });
    return items;
  };
  // The items were valid when accepted; parsing them again at apply time gives the same values.
  world.bulkAppliers.set(endpoint, (raw, writeId) => apply(parseAll(raw, new Problems()), writeId, endpoint));
  return apiRoute(
    world,
    method,
    path,
    (req) => {
      const p = new Problems();
      const raw = bulkArray(req.json, p);
      if (!raw) return invalidPayload(p);
      parseAll(raw, p);
      if (!p.empty) return invalidPayload(p);
      queueWrite(world, endpoint, raw);
      return json(202, null);
    },
    premiumOnly,
  );
}
