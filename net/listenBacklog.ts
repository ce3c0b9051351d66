/**
 * The listen backlog of every server phones connect to (the relay, and the one-process
 * `rollcall start` whose validator server carries the relay's WebSockets).
 *
 * Node's default is 511. A relay that takes over a dead relay's phones, or a lecture hall whose
 * 300 phones come back together when the Wi-Fi does, sees more connections arrive in one moment
 * than a busy event loop accepts; past the backlog the kernel drops the SYN and the phone's TCP
 * sends it again only after 1 s (then 3 s, 7 s). Measured on this machine: 1,200 WebSockets
 * reconnecting at once to one Node server, p99 1,249 ms with 511 against 408 ms with 4,096, and
 * the campus failover's "socket closed → open on another relay" (docs/performance.md). The
 * kernel caps the value at `net.core.somaxconn` (4,096 by default since Linux 5.4; raise it on
 * older kernels, docs/scaling.md).
 */
export const LISTEN_BACKLOG = 4096;
