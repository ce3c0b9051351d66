/**
 * One admitted item as a self-contained Yjs update (V1), written with Yjs's own encoder and
 * `Item.write`, exactly as `Y.encodeStateAsUpdate` lays out a one-item document: one client,
 * one struct, an empty delete set. Filtered sync forwards these per device.
 *
 * Valid only for items without origins (what admission lets in): such an item's encoding does
 * not depend on anything else in the document.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

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
 * (`concatItemUpdates`); anything else goes through `Y.mergeUpdates`.
 */
export function mergeItemUpdates(updates: Uint8Array[]): Uint8Array {
  if (updates.length === 1) return updates[0]!;
  return concatItemUpdates(updates) ?? Y.mergeUpdates(updates);
}

/**
 * The merge of one-item updates written by `encodeItemUpdate`, without decoding their items: a
 * V1 update is a list of clients, each a run of structs from its first clock, then the delete
 * set, so the merge is each item's struct bytes copied under its client's header, clients in
 * descending order as Yjs writes them. Undefined when an update is not of that shape, or a
 * client's clocks have a gap or a repeat (Yjs would need a Skip there; the caller merges
 * through Yjs). Equal in content to `Y.mergeUpdates` (tests/relay/admission.test.ts).
 *
 * Why: an unfiltered peer (the validator) asks for the whole room on every connection, and
 * when a relay dies the survivors load its rooms and answer every one at once; `Y.mergeUpdates`
 * took about 35 ms for a room of 500 items on this machine (docs/performance.md).
 */
export function concatItemUpdates(updates: Uint8Array[]): Uint8Array | undefined {
  const items: { client: number; clock: number; update: Uint8Array; bodyStart: number }[] = [];
  for (const update of updates) {
    const decoder = decoding.createDecoder(update);
    if (update.length < 6 || decoding.readVarUint(decoder) !== 1 || decoding.readVarUint(decoder) !== 1) return undefined;
    const client = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    if (update[update.length - 1] !== 0 || decoder.pos >= update.length - 1) return undefined;
    items.push({ client, clock, update, bodyStart: decoder.pos });
  }
  items.sort((a, b) => b.client - a.client || a.clock - b.clock);
  const encoder = encoding.createEncoder();
  let clients = 0;
  for (let i = 0; i < items.length; ) {
    let end = i + 1;
    while (end < items.length && items[end]!.client === items[i]!.client) end++;
    for (let j = i + 1; j < end; j++) if (items[j]!.clock !== items[j - 1]!.clock + 1) return undefined;
    clients++;
    i = end;
  }
  encoding.writeVarUint(encoder, clients);
  for (let i = 0; i < items.length; ) {
    let end = i + 1;
    while (end < items.length && items[end]!.client === items[i]!.client) end++;
    encoding.writeVarUint(encoder, end - i);
    encoding.writeVarUint(encoder, items[i]!.client);
    encoding.writeVarUint(encoder, items[i]!.clock);
    for (let j = i; j < end; j++) {
      const { update, bodyStart } = items[j]!;
      encoding.writeUint8Array(encoder, update.subarray(bodyStart, update.length - 1));
    }
    i = end;
  }
  encoding.writeVarUint(encoder, 0); // empty delete set
  return encoding.toUint8Array(encoder);
}

/** An update that holds nothing (what an empty document encodes to). */
export const EMPTY_UPDATE: Uint8Array = Y.encodeStateAsUpdate(new Y.Doc());
