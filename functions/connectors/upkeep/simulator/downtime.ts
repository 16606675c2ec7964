/**
 * `POST /assets/downtime`: bulk asset activity, one result per row (reference §7.33). A row that fails
 * its checks is reported with its errors and the others are still recorded.
 */
import { json, type SimResponse } from '../../../../sandbox/simulators/server.ts';
import { bad } from './errors.ts';
import { nowAssetStamp, nowIso, type UpKeepWorld, upkeepId } from './state.ts';
import type { SimDowntimeActivity } from './types.ts';
import { ISO_8601, isObject, utcMs } from './validation.ts';

const DOWNTIME_FIELDS = new Set(['assetId', 'status', 'recordedOn', 'statusCategory', 'userId']);

export function recordDowntime(world: UpKeepWorld, body: unknown): SimResponse {
  if (!Array.isArray(body) || body.length === 0) {
    throw bad('Request body must be an array with at least one object');
  }
  let success = true;
  const results = body.map((row: unknown, index) => {
    const r = isObject(row) ? row : {};
    const errors: { message: string; slug: string; value?: unknown }[] = [];
    if (!isObject(row)) errors.push({ message: 'Row must be an object', slug: 'invalid-row', value: row });
    for (const key of Object.keys(r)) {
      if (!DOWNTIME_FIELDS.has(key))
        errors.push({ message: `${key} not in schema`, slug: 'invalid-field', value: key });
    }
    const assetId = typeof r.assetId === 'string' ? r.assetId : undefined;
    const asset = assetId ? world.assets.find((a) => a.id === assetId) : undefined;
    if (!assetId)
      errors.push({ message: 'assetId cannot be null', slug: 'missing-asset-id', value: r.assetId });
    else if (!asset) errors.push({ message: 'Asset not found', slug: 'asset-not-found', value: assetId });
    const status = r.status;
    if (status !== 'available' && status !== 'not-available') {
      errors.push({
        message: 'Invalid status; use available or not-available',
        slug: 'invalid-status',
        value: status,
      });
    }
    let recordedMs = Number.NaN;
    if (typeof r.recordedOn === 'number' && Number.isFinite(r.recordedOn) && r.recordedOn >= 0) {
      recordedMs = r.recordedOn;
    } else if (typeof r.recordedOn === 'string' && /^\d+$/.test(r.recordedOn)) {
      recordedMs = Number(r.recordedOn);
    } else if (typeof r.recordedOn === 'string' && ISO_8601.test(r.recordedOn)) {
      recordedMs = utcMs(r.recordedOn);
    }
    if (Number.isNaN(recordedMs)) {
      errors.push({ message: 'Invalid recordedOn date', slug: 'invalid-recorded-on', value: r.recordedOn });
    }
    for (const key of ['statusCategory', 'userId'] as const) {
      if (r[key] !== undefined && typeof r[key] !== 'string') {
        errors.push({ message: `${key} must be a String`, slug: `invalid-${key}`, value: r[key] });
      }
    }
    // The doc's example numbers rows 1 and 3 for array positions 0 and 1 (reference §7.33); mimic
    // it so clients cannot mistake `row` for an index.
    const base = { assetId: r.assetId, status: r.status, recordedOn: r.recordedOn, row: index * 2 + 1 };
    if (errors.length > 0 || !asset) {
      success = false;
      return { ...base, errors };
    }
    const activity: SimDowntimeActivity = {
      id: upkeepId(),
      assetId: asset.id,
      status: status as SimDowntimeActivity['status'],
      recordedOn: new Date(recordedMs).toISOString(),
      ...(typeof r.statusCategory === 'string' ? { statusCategory: r.statusCategory } : {}),
      ...(typeof r.userId === 'string' ? { userId: r.userId } : {}),
      createdAt: nowIso(world),
    };
    world.downtime.push(activity);
    // The asset shows its latest recorded status.
    const latest = world.downtime
      .filter((d) => d.assetId === asset.id)
      .reduce((a, b) => (Date.parse(b.recordedOn) >= Date.parse(a.recordedOn) ? b : a));
    asset.downtimeStatus = latest.status;
    asset.availabilityStatus = latest.status;
    asset.updatedAt = nowAssetStamp(world);
    return {
      ...base,
      statusMessage: 'Insert new asset activity update',
      statusSlug: 'insert-asset-activity-update',
      newAssetActivityUpdateId: activity.id,
    };
  });
  // The HTTP status of a partial failure is undocumented; 200 with `success: false` here.
  return json(200, { success, results });
}
