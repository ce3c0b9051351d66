/**
 * Every test file's last hook (vitest setupFiles; after hooks run in reverse, so this one runs
 * after the file's own, once its servers are stopped): deletes the temporary folders the file's
 * helpers made (Redis's, Caddy's, the relays' and validators' data). A file may call
 * `removeTempDirs()` earlier itself; a second call finds nothing left.
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './processes.ts';

afterAll(() => {
  removeTempDirs();
});
