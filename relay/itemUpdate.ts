/**
 * One admitted item as a self-contained Yjs update (V1), written with Yjs's own encoder and
 * `Item.write`, exactly as `Y.encodeStateAsUpdate` lays out a one-item document: one client,
 * one struct, an empty delete set. Filtered sync forwards these per device.
 *
 * Valid only for items without origins (what admission lets in): such an item's encoding does
 * not depend on anything else in the document.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { concatItemUpdates } from '../protocol/index.ts';

export function encodeItemUpdate(item: Y.Item): Uint8Array {
  const encoder = new Y.UpdateEncoderV1();
  encoding.writeVarUint(encoder.restEncoder, 1); // clients in this update
  encoding.writeVarUint(encoder.restEncoder, 1); // structs of that client
  encoder.writeClient(item.id.client);
  encoding.writeVarUint(encoder.restEncoder, item.id.clock);
  item.write(encoder, 0);
  encoding.writeVarUint(encoder.restEncoder, 0); // empty delete set
  return encoder.toUint8Array();
}

/**
 * Merges item updates; one update is returned as is (the common live case). Updates as
 * `encodeItemUpdate` writes them, whose clients' clocks run without gaps, are laid side by side
 * (protocol's `concatItemUpdates`: `Y.mergeUpdates` took about 35 ms for a room of 500 items,
 * and a relay that takes over a dead relay's rooms merges every one of them at once,
 * docs/performance.md); anything else goes through `Y.mergeUpdates`.
 */
export function mergeItemUpdates(updates: Uint8Array[]): Uint8Array {
  if (updates.length === 1) return updates[0]!;
  return concatItemUpdates(updates) ?? Y.mergeUpdates(updates);
}


/** An update that holds nothing (what an empty document encodes to). */
export const EMPTY_UPDATE: Uint8Array = Y.encodeStateAsUpdate(new Y.Doc());
