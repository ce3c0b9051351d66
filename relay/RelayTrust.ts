/**
 * The relay's trust at run time (SPEC.md R9–R11): caches of the TrustStore's validators and
 * grants, the checks of a validator's proof and grants, what a room lets each peer write, and
 * the enrolment endpoint. Everything a peer says is checked by the pure functions of trust.ts;
 * this class adds the cache, the store writes and the clock.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tryFromBase64Url } from '../crypto/index.ts';
import { nativeVerifyDetached as verifyDetached } from '../crypto/nativeEd25519.ts';
import { CloseCode, EnrolRequestSchema, enrolmentSigningBytes, parseWith, type ValidatorMessage } from '../protocol/index.ts';
import { hashEnrolmentCode } from './enrolment.ts';
import { sendJson } from './httpRoutes.ts';
import { refuse, type AdmissionLimits, type Refusal } from './inspectUpdate.ts';
import type { RelayLimits } from './limits.ts';
import type { Logger } from '../log/index.ts';
import type { RelayConnection } from './RelayConnection.ts';
import type { RoomGuard } from './RelayRoom.ts';
import { TokenBucket } from '../protocol/index.ts';
import { checkChallengeAnswer, checkGrant, isTrusted, roomWritability, type TrustFacts } from './trust.ts';
import type { EnrolledValidator, StoredGrant, TrustStore } from './TrustStore.ts';

/** A room's grant with the caps parsed out of its JSON once. */
interface CachedGrant extends StoredGrant {
  maxItems?: number;
}

export const ENROL_PATH = '/validators/enroll';
const MAX_ENROL_BODY_BYTES = 4096;
/** Past this many cached grants a trust change forgets them instead of re-reading them all. */
const MAX_GRANTS_REREAD = 5_000;
/** Addresses whose enrolment buckets are remembered; past this, the oldest are forgotten. */
const MAX_TRACKED_ADDRESSES = 10_000;

export interface RelayTrustOptions {
  store: TrustStore;
  limits: RelayLimits;
  logger: Logger;
  now: () => number;
  /** The client address of a request, as R11 counts it (R11a: the socket's, or a trusted proxy's X-Forwarded-For). */
  addressOf: (req: IncomingMessage) => string;
}

export class RelayTrust implements RoomGuard {
  readonly #store: TrustStore;
  readonly #limits: RelayLimits;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #addressOf: (req: IncomingMessage) => string;
  readonly #validators = new Map<string, EnrolledValidator>();
  /** null: looked up, no grant (so a spammer's random room names cost one indexed read each, then nothing). */
  readonly #grants = new Map<string, CachedGrant | null>();
  /** Reads of a room's grant under way: phones arriving together for an uncached room share one. */
  readonly #grantReads = new Map<string, Promise<CachedGrant | undefined>>();
  readonly #enrolBuckets = new Map<string, TokenBucket>();
  /** While grants are re-read: rooms whose grant this relay stored meanwhile (the read must not overwrite them). */
  #grantsWritten: Set<string> | undefined;
  /** The store's `externalVersion` when validators were last read; undefined before. */
  #version: number | undefined;
  /** Resolves once the trusted validators were read (never rejects: a failure is logged, lookups then go to the store). */
  readonly ready: Promise<void>;

  constructor(options: RelayTrustOptions) {
    this.#store = options.store;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#addressOf = options.addressOf;
    this.ready = this.#start();
  }

  async #start(): Promise<void> {
    try {
      this.#version = await this.#store.externalVersion();
      await this.#reloadValidators();
    } catch (error) {
      this.#logger.error('could not read the trusted validators; will retry', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Enrols a validator without a code: `rollcall start` trusts its own. */
  async enrolDirect(publicKey: string, name: string): Promise<EnrolledValidator> {
    const validator = await this.#store.enrolDirect(publicKey, name, this.#now());
    this.#validators.set(publicKey, validator);
    return validator;
  }

  /**
   * Re-reads validators when another process changed the store (the operator revoked one,
   * another relay stored a grant). Returns the keys that are no longer trusted, so the relay
   * can close their connections.
   */
  async refresh(): Promise<string[]> {
    await this.ready;
    const version = await this.#store.externalVersion();
    if (version === this.#version) return [];
    const before = new Map(this.#validators);
    await this.#reloadValidators();
    // Another process may also have written grants (another relay on the same database, a
    // restore): re-read the cached ones, in one read. Forgetting them instead would make each
    // room's next update wait for a read of its own, on the hot path, every time any relay
    // stores any grant (at 9:00, every second). The version is recorded only once both reads
    // succeeded: a failed one is tried again at the next refresh.
    await this.#rereadGrants();
    this.#version = version;
    const lost: string[] = [];
    for (const [key, validator] of before) if (isTrusted(validator) && !isTrusted(this.#validators.get(key))) lost.push(key);
    return lost;
  }

  async #rereadGrants(): Promise<void> {
    const rooms = [...this.#grants.keys()];
    if (rooms.length > MAX_GRANTS_REREAD) {
      this.#grants.clear();
      return;
    }
    const written = new Set<string>();
    this.#grantsWritten = written;
    let fresh: Map<string, StoredGrant>;
    try {
      fresh = await this.#store.grants(rooms);
    } finally {
      this.#grantsWritten = undefined;
    }
    for (const room of rooms) {
      // A grant this relay accepted while the store answered is newer than what it answered.
      if (written.has(room) || !this.#grants.has(room)) continue;
      const grant = fresh.get(room);
      this.#grants.set(room, grant ? withCaps(grant) : null);
    }
  }

  async #reloadValidators(): Promise<void> {
    const validators = await this.#store.validators();
    this.#validators.clear();
    for (const validator of validators) this.#validators.set(validator.publicKey, validator);
  }

  isTrusted(publicKey: string): boolean {
    return isTrusted(this.#validators.get(publicKey));
  }

  /** The room's grant as cached: undefined when it has none, or it was not read yet (`loadGrant`). */
  grantOf(room: string): CachedGrant | undefined {
    return this.#grants.get(room) ?? undefined;
  }

  /** The room's grant, read from the store unless cached (a miss is cached too, until the next refresh). */
  async loadGrant(room: string): Promise<CachedGrant | undefined> {
    const cached = this.#grants.get(room);
    if (cached !== undefined) return cached ?? undefined;
    // A relay taking over a dead relay's rooms gets hundreds of its phones at once: one read each room.
    let reading = this.#grantReads.get(room);
    if (!reading) {
      reading = this.#readGrant(room).finally(() => this.#grantReads.delete(room));
      this.#grantReads.set(room, reading);
    }
    return reading;
  }

  async #readGrant(room: string): Promise<CachedGrant | undefined> {
    const stored = await this.#store.grant(room);
    // A grant accepted while the store answered is newer than what it answered.
    if (this.#grants.has(room)) return this.#grants.get(room) ?? undefined;
    const cached = stored ? withCaps(stored) : null;
    if (this.#grants.size > 100_000) this.#grants.clear();
    this.#grants.set(room, cached);
    return cached ?? undefined;
  }

  /** R9 at the upgrade: a phone may connect to a room a validator opened (to write, or later to read its receipts). */
  async isOpened(room: string): Promise<boolean> {
    return (await this.loadGrant(room)) !== undefined;
  }

  /** RoomGuard: reads the room's grant and its validator into the caches when they are not there. */
  load(room: string): Promise<unknown> | undefined {
    const cached = this.#grants.get(room);
    if (cached === null || (cached !== undefined && this.#validators.has(cached.validator))) return undefined;
    return (async () => {
      await this.ready;
      const grant = await this.loadGrant(room);
      if (grant) await this.#validator(grant.validator);
    })();
  }

  /** From the cache; a key it does not know is looked up in the store (enrolled a moment ago by another process). */
  async #validator(publicKey: string): Promise<EnrolledValidator | undefined> {
    const cached = this.#validators.get(publicKey);
    if (cached) return cached;
    const stored = await this.#store.validator(publicKey);
    if (stored) this.#validators.set(publicKey, stored);
    return stored;
  }

  #facts(): TrustFacts {
    return {
      validator: (key) => this.#validator(key),
      grant: (room) => this.loadGrant(room),
      openGrants: (validator, nowMs) => this.#store.openGrants(validator, nowMs),
    };
  }

  /**
   * A hello (proof + grant) or a newer grant from `connection`, for `room`. On success the grant
   * is stored (before anything of the room is sent) and the validator's key is returned.
   */
  async acceptValidatorMessage(room: string, connection: RelayConnection, message: ValidatorMessage): Promise<{ ok: true; validator: EnrolledValidator } | Refusal> {
    if (message.kind !== 'hello' && message.kind !== 'grant') return refuse('R10', 'not a message a validator sends');
    const signer = message.kind === 'grant' ? connection.validatorKey : undefined;
    const check = await checkGrant(room, message.grantJson, message.grantSignature, this.#facts(), this.#now(), this.#limits, signer);
    if (!check.ok) return check;
    if (message.kind === 'hello') {
      const challenge = connection.challenge;
      if (!challenge || !checkChallengeAnswer(room, challenge, message.challengeSignature, check.grant.validator)) {
        return refuse('R10', 'the answer to the challenge does not verify', CloseCode.Unauthorized);
      }
    }
    await this.#store.putGrant(check.stored); // rejects if it cannot be stored: the caller closes with 1013
    this.#grants.set(room, withCaps(check.stored));
    this.#grantsWritten?.add(room);
    return { ok: true, validator: check.validator };
  }

  limitsFor(room: string): AdmissionLimits {
    const grant = this.grantOf(room);
    return {
      itemBytes: this.#limits.itemBytes,
      roomItems: Math.min(this.#limits.roomItems, grant?.maxItems ?? Number.POSITIVE_INFINITY),
      roomBytes: Math.min(this.#limits.roomBytes, grant?.reservedBytes ?? Number.POSITIVE_INFINITY),
    };
  }

  mayWrite(room: string, from: RelayConnection): { ok: true } | Refusal {
    const grant = this.grantOf(room);
    if (from.device !== undefined) return roomWritability(grant, grant ? this.#validators.get(grant.validator) : undefined, this.#now());
    if (!grant || from.validatorKey !== grant.validator) return refuse('R10', 'only the room’s validator writes receipts');
    if (!this.isTrusted(grant.validator)) return refuse('R10', 'this validator was revoked by the relay’s operator');
    return { ok: true };
  }

  /** `POST /validators/enroll`: redeems a one-time code for a public key. True when answered. */
  handleEnrolHttp(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== ENROL_PATH) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: `POST ${ENROL_PATH} with {"code","public_key","proof"}`, code: 'method_not_allowed' }, { allow: 'POST' });
      return true;
    }
    const address = this.#addressOf(req);
    if (!this.#enrolBucket(address).take()) {
      this.#logger.warn('refused R11: too many enrolment attempts', { address });
      sendJson(res, 429, { error: 'too many enrolment attempts from this address; wait a minute', code: 'rate_limited' }, { 'retry-after': '60' });
      return true;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_ENROL_BODY_BYTES) {
      sendJson(res, 413, { error: 'the enrolment request is too large', code: 'too_large' });
      req.destroy();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ENROL_BODY_BYTES) {
        sendJson(res, 413, { error: 'the enrolment request is too large', code: 'too_large' });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      this.#enrol(Buffer.concat(chunks).toString('utf8'), address, res).catch((error: unknown) => {
        this.#logger.error('enrolment failed', { error: error instanceof Error ? error.message : String(error) });
        if (!res.headersSent) sendJson(res, 503, { error: 'the relay could not store the enrolment; try again in a minute', code: 'store_unavailable' });
      });
    });
    req.on('error', () => res.destroy());
    return true;
  }

  async #enrol(body: string, address: string, res: ServerResponse): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      sendJson(res, 400, { error: 'the body must be JSON {"code","public_key","proof"}', code: 'malformed' });
      return;
    }
    const request = parseWith(EnrolRequestSchema, json);
    if (!request.ok) {
      sendJson(res, 400, { error: `malformed enrolment request (${request.error})`, code: 'malformed' });
      return;
    }
    const { code, public_key: publicKey, proof } = request.value;
    if (!verifyDetached(enrolmentSigningBytes(code), tryFromBase64Url(proof)!, tryFromBase64Url(publicKey)!)) {
      sendJson(res, 400, { error: 'the proof does not verify with this public key', code: 'bad_proof' });
      return;
    }
    const redemption = await this.#store.redeemEnrolmentCode(hashEnrolmentCode(code), publicKey, this.#now());
    if (!redemption.ok) {
      // The code itself is never logged: it is a secret until used.
      this.#logger.warn(`refused enrolment: ${redemption.reason}`, { address, key: publicKey.slice(0, 8) });
      const text = { unknown_code: 'this enrolment code is not known to this relay', used_code: 'this enrolment code was already used', expired_code: 'this enrolment code has expired' }[redemption.reason];
      sendJson(res, 403, { error: `${text}: ask the relay's operator for a new one (rollcall relay enroll)`, code: redemption.reason });
      return;
    }
    await this.#reloadValidators();
    this.#version = await this.#store.externalVersion();
    this.#logger.info('validator enrolled', { name: redemption.validator.name, key: publicKey.slice(0, 8), address, replaced: redemption.replaced?.slice(0, 8) });
    sendJson(res, 200, { name: redemption.validator.name, public_key: publicKey });
  }

  #enrolBucket(address: string): TokenBucket {
    let bucket = this.#enrolBuckets.get(address);
    if (!bucket) {
      if (this.#enrolBuckets.size >= MAX_TRACKED_ADDRESSES) this.#enrolBuckets.delete(this.#enrolBuckets.keys().next().value!);
      bucket = new TokenBucket(this.#limits.enrolmentsPerMinute / 60, this.#limits.enrolmentsPerMinute, this.#now);
      this.#enrolBuckets.set(address, bucket);
    }
    return bucket;
  }
}

function withCaps(stored: StoredGrant): CachedGrant {
  try {
    const maxItems = (JSON.parse(stored.grantJson) as { max_items?: unknown }).max_items;
    return typeof maxItems === 'number' ? { ...stored, maxItems } : { ...stored };
  } catch {
    return { ...stored };
  }
}
