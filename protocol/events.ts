/**
 * The validator's server-sent events (`GET /events`, docs/http-api.md "Live changes"): what the
 * dashboard hears instead of polling. An event says *what* changed, never the new state: the
 * dashboard re-reads the one screen it shows, so an event can never disagree with the API.
 */
import { z } from 'zod';
import { courseName, sessionId } from './schemas.ts';
import { RelayStatusSchema } from './api.ts';

/** SSE `event:` names. */
export const LIVE_EVENT = {
  /** First event of every stream: the client re-reads its screen (nothing is replayed). */
  hello: 'hello',
  /** Something stored changed ({@link StoreChange}). */
  change: 'change',
  /** The validator's connection to the relay ({@link RelayStatusSchema}), sent when it differs. */
  relay: 'relay',
} as const;

/** How often the stream carries a heartbeat comment, so dead connections are noticed. */
export const LIVE_HEARTBEAT_MS = 15_000;
/** A client that hears nothing (not even a heartbeat) for this long reconnects. */
export const LIVE_SILENCE_LIMIT_MS = 40_000;

/**
 * What changed in the validator's store (ValidatorStore's `StoreChange`): `decisions` (a scan
 * decided, an override), `mark` (a professor's status mark), `session` (created, ended, options,
 * deleted), `roster` and `course` (a course's roster or settings). `session_id` and `course` say
 * where, when known.
 */
export const StoreChangeSchema = z.strictObject({
  kind: z.enum(['decisions', 'session', 'mark', 'roster', 'course']),
  session_id: sessionId.optional(),
  course: courseName.optional(),
});
export type StoreChange = z.infer<typeof StoreChangeSchema>;

/** GET /healthz `relay` is also the `relay` event's body (one schema, in api.ts). */
export { RelayStatusSchema };
export type RelayStatus = z.infer<typeof RelayStatusSchema>;

export const HelloEventSchema = z.strictObject({ server_time_ms: z.number() });
