/** Rollcall's contract: shapes, names and codes every part shares (docs/SPEC.md). Isomorphic. */
export * from './constants.ts';
export * from './reasons.ts';
export * from './relayRules.ts';
export * from './schemas.ts';
export * from './qr.ts';
export * from './sessionDoc.ts';
export * from './scan.ts';
export * from './logText.ts';
export * from './TokenBucket.ts';
export * from './trust.ts';
export * from './api.ts';
