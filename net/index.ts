/**
 * Node-only address helpers shared by the parts that serve clients (relay, validator): which
 * address a request is counted under (SPEC.md R11a); the listen backlog of servers phones connect to. Like log/, it imports no part.
 */
export { NO_TRUSTED_PROXIES, OLD_TRUSTED_PROXIES_ENV, TRUSTED_PROXIES_ENV, TRUSTED_PROXY_FORM, canonicalAddress, clientAddress, parseTrustedProxies, requestClientAddress, type AddressSource, type ClientAddress, type ParsedProxies, type TrustedProxies } from './clientAddress.ts';
export { UnusableForwardedFor, type UnusableKind } from './UnusableForwardedFor.ts';
export { LISTEN_BACKLOG } from './listenBacklog.ts';
