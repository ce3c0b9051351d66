/** The relay part (docs/SPEC.md "Relay admission"): what other parts and tests may import. */
export { Relay, type RelayOptions, type RelayStats } from './Relay.ts';
export { startRelayServer, STORE_ERROR_CODE, RELAY_DB_FILE, type RelayServerOptions, type RunningRelayServer } from './startRelayServer.ts';
export { DEFAULT_RELAY_LIMITS, relayLimits, type RelayLimits } from './limits.ts';
export { MemoryUpdateStore, type Appended, type ItemKey, type StoredUpdate, type UpdateStore } from './UpdateStore.ts';
export { SqliteUpdateStore } from './SqliteUpdateStore.ts';
export { PgDatabase } from './PgDatabase.ts';
export { PgUpdateStore } from './PgUpdateStore.ts';
export { PgTrustStore } from './PgTrustStore.ts';
export { redactedUrl } from './redactedUrl.ts';
export { RedisBus, redisDisplayUrl, type RedisBusOptions } from './RedisBus.ts';
export { inspectUpdate, decodeUpdateSafely, type Inspection, type Refusal, type RoomFacts } from './inspectUpdate.ts';
export { RoomState } from './RoomState.ts';
export { createLogger, silentLogger, type Logger } from '../log/index.ts';
export { MemoryTrustStore, type TrustStore, type EnrolledValidator, type StoredGrant, type Redemption } from './TrustStore.ts';
export { SqliteTrustStore, TRUST_DB_FILE } from './SqliteTrustStore.ts';
export { RelayTrust, ENROL_PATH } from './RelayTrust.ts';
export { checkGrant, checkChallengeAnswer, roomWritability, type GrantLimits, type TrustFacts } from './trust.ts';
export { newEnrolmentCode, normaliseEnrolmentCode, hashEnrolmentCode, VALIDATOR_NAME_PATTERN } from './enrolment.ts';
