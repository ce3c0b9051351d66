/**
 * Relay admission rule ids (docs/SPEC.md "Relay admission" and "Who may write what") and the
 * WebSocket close codes the relay uses when it refuses something. Tests name the rule they
 * check by these ids.
 */
export const RELAY_RULES = {
  R1: 'an update that deletes anything is refused whole',
  R2: 'only a JSON object may be the first value of a key of the root maps entries/receipts',
  R3: 'size limits (message, item, room, state vector) and a rate limit per connection',
  R4: 'room names are session ids (UUID form)',
  R5: 'admitted updates are persisted before broadcast; restart loses nothing',
  R6: 'a refused update leaves the room untouched; sender told why and closed',
  R7: 'a key the room already holds cannot be written again',
  R8: 'a Yjs client writes entries for one device only; a receipt is the only item of its client',
  R9: 'a room exists only while a grant signed by a trusted validator keeps it open; phones write entries only, until the grant says',
  R10: 'only the room’s validator, proven by a signed challenge, reads the whole room and writes receipts',
  R11: 'quotas: open rooms and reserved bytes per validator, connections per address, enrolment attempts',
} as const;
export type RelayRuleId = keyof typeof RELAY_RULES;

/** Close codes, in one place (hocuspocus-style). */
export const CloseCode = {
  /** Admission refused an update (R1, R2, R7, R8, R9, R10) or a grant. */
  Forbidden: 4403,
  /** A connection that did not prove in time that it is the room's validator (R10). */
  Unauthorized: 4401,
  /** A message, item, state vector or room over its size limit (R3). */
  TooLarge: 4413,
  /** The connection sent faster than its rate limit (R3), or a quota was reached (R11). */
  RateLimited: 4429,
  /**
   * The relay is stopping to restart (SIGTERM): 1012 "service restart". Outside 4400–4499, so
   * y-websocket and the validator's follower reconnect (with backoff) instead of giving up.
   */
  Restarting: 1012,
  /**
   * The relay could not store or load what it must (its database is down, R5): 1013 "try again
   * later". Nothing of the refused update was admitted; the peer keeps it, reconnects with
   * backoff and re-sends it (outside 4400–4499: not a refusal a person must act on).
   */
  StoreUnavailable: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
