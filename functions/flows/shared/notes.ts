/**
 * Notes (UpKeep work-order update messages) written at most once, with a look-before-write: the note
 * carries a unique marker, and a retry after an unanswered POST reads the work order's update items
 * back (UpKeepClient.findWorkOrderMessage) and sends only when the marker is not there. When UpKeep's
 * answer cannot tell, the event is parked as needs attention: never a second note, never a lost one.
 */
import type { UpKeepClient } from '../../connectors/upkeep/client.ts';
import { forgetSendCommand, sendOnce } from '../../core/claims.ts';
import type { StateStore } from '../../core/state.ts';

/** `[millwright:<flow>:<parts>]`: unique per note, so finding it proves this note was added. */
export const noteMarker = (flowId: string, ...parts: string[]) =>
  `[millwright:${[flowId, ...parts].join(':')}]`;

/** What an operator checks when a note's outcome is unknown. */
export const unconfirmedNoteCheck = (workOrderId: string, marker: string, key: string) =>
  `Open UpKeep work order ${workOrderId} and look for an update message containing ${marker}. If there is one, nothing is missing: discard this event. If there is none, clear the unconfirmed send (${forgetSendCommand(key)}) and replay this event.`;

export interface NoteOptions {
  /** One note: the intent key (e.g. `<flow>:note:<subject>`). */
  key: string;
  workOrderId: string;
  /** Must contain `marker`. */
  text: string;
  marker: string;
}

/** Add the note unless an earlier attempt did; `found` when it did. */
export async function addNoteOnce(
  ctx: { state: StateStore },
  upkeep: UpKeepClient,
  note: NoteOptions,
): Promise<'sent' | 'found'> {
  if (!note.text.includes(note.marker)) throw new Error(`note ${note.key} does not carry its marker`);
  const done = await sendOnce(ctx.state, {
    key: note.key,
    send: async () => {
      await upkeep.addWorkOrderMessage(note.workOrderId, note.text);
      return true as const;
    },
    lookup: () => upkeep.findWorkOrderMessage(note.workOrderId, note.marker),
    what: `note on UpKeep work order ${note.workOrderId}`,
    check: unconfirmedNoteCheck(note.workOrderId, note.marker, note.key),
  });
  return done.how;
}
