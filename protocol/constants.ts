/**
 * Names and numbers that every part must agree on (docs/SPEC.md). Other programs speak these,
 * so change them only together with docs/SPEC.md.
 */

/** Version of every wire format in this file (QR payload, entry, receipt and their plaintexts). */
export const FORMAT_VERSION = 1;

/** Root `Y.Map` of sealed submissions, keyed by the entry nonce `n`. */
export const ROOT_ENTRIES = 'entries';
/** Root `Y.Map` of sealed validator answers, keyed by the nonce of the entry answered. */
export const ROOT_RECEIPTS = 'receipts';
/** The only root names a session document may hold. */
export const ROOT_NAMES = [ROOT_ENTRIES, ROOT_RECEIPTS] as const;
export type RootName = (typeof ROOT_NAMES)[number];

/** Largest accepted entry or receipt, as JSON text (docs/SPEC.md: "over 2 KiB" is `malformed`). */
export const MAX_ITEM_BYTES = 2048;
/** Longest course name carried in the QR. */
export const MAX_COURSE_CHARS = 64;
/** Longest student id. The seed's ids look like `2022IMT-048`. */
export const MAX_STUDENT_ID_CHARS = 64;

/** nacl.box nonce length: entry `n` and receipt `rn`. */
export const NONCE_BYTES = 24;
/** X25519 public key length: device `d`, validator `k`. */
export const PUBLIC_KEY_BYTES = 32;
/** HMAC-SHA256 output length. */
export const SIGNATURE_BYTES = 32;
/** Session secret length: 32 random bytes known only to the validator. */
export const SESSION_SECRET_BYTES = 32;

/** Default QR rotation period in seconds (0 means the QR does not rotate). */
export const DEFAULT_ROTATE_SECONDS = 10;
/** Default clock skew tolerated around a rotating QR's slot. */
export const DEFAULT_SKEW_SECONDS = 120;
/** Default grace after a session's end for entries that were scanned in time but synced late. */
export const DEFAULT_LATE_SYNC_MINUTES = 1440;
/**
 * How long after `late_sync_minutes` a room still takes entries (SPEC.md R9): a scan that
 * arrives then is answered `sync_too_late` instead of being refused by the relay unanswered.
 * A room grant's `writes_until_ms` is the session's end + `late_sync_minutes` + this.
 */
export const LATE_ANSWER_GRACE_MS = 60 * 60_000;
/** An entry first seen this long after its slot (while the validator was connected) is flagged `delayed_sync`. */
export const DELAYED_SYNC_FLAG_SECONDS = 5 * 60;

/** Path prefix of the y-websocket endpoint on the relay: `/sync/<session_id>`. */
export const SYNC_PATH_PREFIX = '/sync/';
/** Query parameter a student connection uses to ask for filtered sync. */
export const DEVICE_QUERY_PARAM = 'device';

/** Default HTTP port of the validator and of `rollcall start` (the seed's port). */
export const DEFAULT_PORT = 5000;

/**
 * The dashboard page a one-time login link opens, `<public URL>/professor/login#<secret>`: the
 * validator makes the links, the static handler serves the dashboard there, and the dashboard
 * reads the secret from the fragment (docs/http-api.md "Dashboard login").
 */
export const LOGIN_PAGE_PATH = '/professor/login';
