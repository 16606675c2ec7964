/**
 * Mobility Work in a dry run: its writes answer with no body (reference §1): a scheduled task 201,
 * a maintenance-plan trigger 204, spare-part and stock writes 202 (processed later by Mobility Work).
 */
import type { ConnectorDryRun } from '../../core/connector.ts';

export const mobilityWorkDryRun: ConnectorDryRun = {
  respond({ url }) {
    if (/\/v1\/tasks\/?$/.test(url.pathname)) return { status: 201 };
    if (/\/maintenance-plans\/trigger\//.test(url.pathname)) return { status: 204 };
    return { status: 202 };
  },
};
