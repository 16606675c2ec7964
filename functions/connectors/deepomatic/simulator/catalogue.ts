/**
 * The application's catalogue: work-order types and their tasks, ids, fixed ids of the site and app
 * version, and Deepomatic's documented messages.
 */
import { createHash } from 'node:crypto';

export interface DeepomaticSimTaskDefinition {
  name: string;
  label: string;
  type: 'Boolean' | 'Number';
  group: string;
}

export const DEEPOMATIC_SIM_TASKS: Readonly<Record<string, readonly DeepomaticSimTaskDefinition[]>> = {
  'photo-validation': [
    {
      name: 'equipment_after_intervention',
      label: 'Is it a photo of the equipment after intervention?',
      type: 'Boolean',
      group: 'equipment-after-intervention',
    },
    {
      name: 'nameplate_visible',
      label: 'Is the equipment nameplate visible?',
      type: 'Boolean',
      group: 'nameplate',
    },
  ],
  maintenance: [
    { name: 'work_area_clean', label: 'Is the work area clean?', type: 'Boolean', group: 'work-area' },
  ],
};

export const DEEPOMATIC_SIM_DEFAULT_ENGINEERS = ['tech@plant.example'] as const;
export const DEEPOMATIC_SIM_DEFAULT_TYPES = ['photo-validation', 'maintenance'] as const;
export const DEEPOMATIC_SIM_SITE_ID = '39c9d63f-a517-4f9d-ae45-415d80931226';
export const DEEPOMATIC_SIM_APP_VERSION_ID = 'c14d3664-b69f-4357-a443-866111a65fb8';

export const DM_AUTH_MISSING = { detail: 'Authentication credentials not provided.' } as const;
export const DM_AUTH_INVALID = { detail: 'No user found for such apiKey.' } as const;
export const DM_NOT_FOUND = { detail: 'WorkOrder not found!' } as const;
export const DM_UNKNOWN_ENGINEER = 'There is no user with this email.';

/** A stable UUID-shaped id from a seed (ids of types, tasks and groups never change here). */
export function simUuid(seed: string): string {
  const h = createHash('sha256').update(seed, 'utf8').digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `2026-11-02T08:00:00.000000Z`: Deepomatic's microsecond format. */
export const isoMicro = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

export const tasksOfType = (type: string): readonly DeepomaticSimTaskDefinition[] =>
  DEEPOMATIC_SIM_TASKS[type] ?? [
    {
      name: `${type.replace(/[^A-Za-z0-9]+/g, '_').toLowerCase()}_done`,
      label: `Is the ${type} step done?`,
      type: 'Boolean',
      group: type,
    },
  ];
