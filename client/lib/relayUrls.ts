/** Where the relay is: the page's own origin by default (the relay serves the app). */
import { SYNC_PATH_PREFIX } from '../../protocol/index.ts';

/** `ws(s)://<host>/sync`: y-websocket's server URL; it appends `/<session_id>`. */
export function syncUrlFor(origin: string): string {
  const url = new URL(SYNC_PATH_PREFIX.replace(/\/$/, ''), origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
