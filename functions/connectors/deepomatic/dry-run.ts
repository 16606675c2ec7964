/**
 * Deepomatic in a dry run: a created work order is answered as Deepomatic creates one (a fresh
 * UUID, progress 0, not reviewed, no tasks analysed); a PATCH answers the work order it would change
 * (read from Deepomatic) with the body applied; a DELETE answers 204.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectorDryRun } from '../../core/connector.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Deepomatic's timestamps: ISO-8601 UTC with microseconds. */
const now = () => new Date().toISOString().replace('Z', '000Z');
const types = (names: unknown) => (Array.isArray(names) ? names.map((name) => ({ name })) : []);

export const deepomaticDryRun: ConnectorDryRun = {
  async respond({ method, url, body }, read) {
    const fields = isObject(body) ? body : {};
    if (method === 'DELETE') return { status: 204 };
    if (method === 'PATCH') {
      const current = await read(url);
      const { work_order_types, ...rest } = fields;
      return {
        status: 200,
        body: {
          ...(isObject(current) ? current : {}),
          ...rest,
          ...(work_order_types !== undefined ? { types: types(work_order_types) } : {}),
          update_date: now(),
        },
      };
    }
    const { work_order_types, ...rest } = fields;
    return {
      status: 201,
      body: {
        id: randomUUID(),
        site_id: null,
        progress_score: 0,
        review_date: null,
        field_engineer_email: null,
        tags: [],
        metadata: {},
        user_group_ids: [],
        tasks: [],
        task_groups: [],
        ...rest,
        types: types(work_order_types),
        create_date: now(),
        update_date: now(),
      },
    };
  },
};
