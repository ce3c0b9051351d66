/**
 * Relay admission rule ids (DESIGN.md "Relay admission") and the WebSocket close codes the relay
 * uses when it refuses something. Tests name the rule they check by these ids.
 */
export const RELAY_RULES = {
  R1: 'an update that deletes anything is refused whole',
  R2: 'only a JSON object may be the first value of a key of the root maps entries/receipts',
  R3: 'size limits (message, item, room) and a rate limit per connection',
  R4: 'room names are session ids (UUID form)',
  R5: 'admitted updates are persisted before broadcast; restart loses nothing',
  R6: 'a refused update leaves the room untouched; sender told why and closed',
  R7: 'a key the room already holds cannot be written again',
  R8: 'a Yjs client writes entries for one device only; a receipt is the only item of its client',
} as const;
export type RelayRuleId = keyof typeof RELAY_RULES;

/** Close codes, in one place (hocuspocus-style). */
export const CloseCode = {
  /** Admission refused an update (R1, R2, R4, R7, R8) or the room name. */
  Forbidden: 4403,
  /** A message, item or room over its size limit (R3). */
  TooLarge: 4413,
  /** The connection sent faster than its rate limit (R3). */
  RateLimited: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
