/**
 * A work order as the API answers it now: progress and `update_date` are derived from the clock
 * (reference §3.2), everything else is copied so a caller cannot change the stored record.
 */
import { DEEPOMATIC_SIM_APP_VERSION_ID, DEEPOMATIC_SIM_SITE_ID, isoMicro, simUuid } from './catalogue.ts';
import type { DeepomaticSimState, DeepomaticSimWorkOrder } from './state.ts';

/** The API's JSON for a work order (reference §3.2). */
export interface DeepomaticSimWorkOrderView {
  id: string;
  name: string;
  site_id: string;
  progress_score: number;
  review_date: string | null;
  create_date: string;
  update_date: string;
  tags: string[];
  app_version_id: string;
  parameters: null;
  metadata: Record<string, unknown> | null;
  types: { id: string; name: string }[];
  field_engineer_email: string | null;
  field_engineer_name: string | null;
  user_group_ids: (string | number)[];
  tasks: {
    id: string;
    name: string;
    label: string;
    type: string;
    group_id: string;
    group_name: string;
    state: unknown;
  }[];
  task_groups: { id: string; name: string; display_name: string; order: number }[];
}

const engineerName = (email: string) => {
  const local = email.split('@')[0] ?? email;
  return local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join(' ');
};

const clockProgress = (rate: number, wo: DeepomaticSimWorkOrder, nowMs: number): number =>
  rate <= 0 ? 0 : Math.min(100, Math.max(0, Math.floor(((nowMs - wo.createdAtMs) * rate) / 60_000)));

const progressOf = (rate: number, wo: DeepomaticSimWorkOrder, nowMs: number) =>
  wo.progressOverride ?? clockProgress(rate, wo, nowMs);

const updateDateOf = (rate: number, wo: DeepomaticSimWorkOrder, nowMs: number): number => {
  if (wo.progressOverride !== null || rate <= 0) return wo.writtenAtMs;
  const p = clockProgress(rate, wo, nowMs);
  const reachedAt = p === 0 ? wo.createdAtMs : wo.createdAtMs + Math.ceil((p * 60_000) / rate);
  return Math.max(wo.writtenAtMs, reachedAt);
};

export const viewOf = (state: DeepomaticSimState, wo: DeepomaticSimWorkOrder): DeepomaticSimWorkOrderView => {
  const nowMs = state.clock.now().getTime();
  const groups = [...new Set(wo.tasks.map((t) => t.group))];
  return {
    id: wo.id,
    name: wo.name,
    site_id: DEEPOMATIC_SIM_SITE_ID,
    progress_score: progressOf(state.rate, wo, nowMs),
    review_date: wo.reviewDate,
    create_date: isoMicro(wo.createdAtMs),
    update_date: isoMicro(updateDateOf(state.rate, wo, nowMs)),
    tags: [...wo.tags],
    app_version_id: DEEPOMATIC_SIM_APP_VERSION_ID,
    parameters: null,
    metadata: wo.metadata === null ? null : structuredClone(wo.metadata),
    types: [...wo.types].sort().map((name) => ({ id: simUuid(`type:${name}`), name })),
    field_engineer_email: wo.fieldEngineerEmail,
    field_engineer_name: wo.fieldEngineerEmail ? engineerName(wo.fieldEngineerEmail) : null,
    user_group_ids: [...wo.userGroupIds],
    tasks: wo.tasks.map((t) => ({
      id: simUuid(`task:${t.name}`),
      name: t.name,
      label: t.label,
      type: t.type,
      group_id: simUuid(`group:${t.group}`),
      group_name: t.group,
      state: structuredClone(t.state),
    })),
    task_groups: groups.map((name, order) => ({
      id: simUuid(`group:${name}`),
      name,
      display_name: name.replace(/[-_]+/g, ' ').replace(/^./, (c) => c.toUpperCase()),
      order,
    })),
  };
};
