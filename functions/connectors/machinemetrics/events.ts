/**
 * The normalised MachineMetrics downtime events. The poller (detector) and the Workflow webhook
 * receiver both emit these, so a flow handles downtime the same way whichever way it came in.
 */
import * as z from 'zod/mini';
import type { EventCatalogue } from '../../core/events.ts';
import { lazySchema } from '../../core/schema.ts';

export const DOWNTIME_STARTED = 'machinemetrics.downtime.started';
export const DOWNTIME_CATEGORIZED = 'machinemetrics.downtime.categorized';
export const DOWNTIME_ENDED = 'machinemetrics.downtime.ended';
export const DOWNTIME_EVENT_TYPES = [DOWNTIME_STARTED, DOWNTIME_CATEGORIZED, DOWNTIME_ENDED] as const;

/** A machine has been down for at least the configured minimum. */
export const downtimeStartedSchema = lazySchema(() =>
  z.object({
    machineId: z.string(),
    machineName: z.string(),
    /** Deterministic episode identity from the source (poll: machine + detection window). */
    episodeKey: z.string(),
    /** Best estimate of when the machine stopped (ISO). */
    startedAt: z.string(),
    /** When the episode was confirmed (end of the evaluated window, ISO). */
    detectedAt: z.string(),
    /** Reason id as a string ("uncategorized", "setup", "33", ...). */
    reasonId: z.string(),
    reasonName: z.string(),
    downtimeMs: z.number(),
  }),
);
export type DowntimeStarted = z.infer<typeof downtimeStartedSchema>;

/** An operator categorised (or re-categorised) the reason of a downtime episode. */
export const downtimeCategorizedSchema = lazySchema(() =>
  z.object({
    machineId: z.string(),
    machineName: z.optional(z.string()),
    episodeKey: z.optional(z.string()),
    reasonId: z.string(),
    reasonName: z.string(),
    categorizedAt: z.string(),
  }),
);
export type DowntimeCategorized = z.infer<typeof downtimeCategorizedSchema>;

/** The machine runs again. */
export const downtimeEndedSchema = lazySchema(() =>
  z.object({
    machineId: z.string(),
    machineName: z.optional(z.string()),
    episodeKey: z.optional(z.string()),
    startedAt: z.optional(z.string()),
    endedAt: z.string(),
    /** Total downtime of the episode if known. */
    downtimeMs: z.optional(z.number()),
  }),
);
export type DowntimeEnded = z.infer<typeof downtimeEndedSchema>;

/** The downtime events, as both the poller (detector) and the Workflow webhook emit them. */
export const machineMetricsEvents = {
  [DOWNTIME_STARTED]: {
    schema: downtimeStartedSchema,
    description: 'Machine down past the configured minimum',
  },
  [DOWNTIME_CATEGORIZED]: {
    schema: downtimeCategorizedSchema,
    description: 'Downtime reason set or changed',
  },
  [DOWNTIME_ENDED]: { schema: downtimeEndedSchema, description: 'Machine runs again' },
} as const satisfies EventCatalogue;
