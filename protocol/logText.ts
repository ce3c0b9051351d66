/**
 * Log lines end up on the professor's terminal, and parts of them come from peers (request
 * paths, room names, refusal reasons, a relay's close reasons). Raw control characters there
 * are terminal escape injection: ESC sequences can rewrite the screen or the window title, BEL
 * rings, bidi overrides reorder what the professor reads. They are written out as `\u001b`.
 */

/** C0, DEL, C1, the bidi marks, embeddings, overrides and isolates, and the Unicode line/paragraph separators. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** `text` with every control character written as a `\uXXXX` escape; everything else as is. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
