/**
 * y-websocket's provider for Node tests and bench workers, with one process-wide `exit`
 * listener instead of one per provider.
 *
 * In Node every `WebsocketProvider` adds its own `process.on('exit')` handler (it drops the
 * provider's awareness state as the process ends) and removes it in `destroy()`. A process that
 * holds more than ten providers at once (a test's class of phones, a bench worker's phones)
 * then trips Node's MaxListenersExceededWarning, although nothing leaks. Here each provider's
 * handler moves into one set, run by a single listener at exit and left when the provider is
 * destroyed; everything else is the stock provider.
 */
import { WebsocketProvider } from 'y-websocket';

/** The handlers of live providers, run by one `exit` listener (installed with the first). */
const liveExitHandlers = new Set<() => void>();
let isExitListenerInstalled = false;

export class SyncProvider extends WebsocketProvider {
  constructor(...args: ConstructorParameters<typeof WebsocketProvider>) {
    super(...args);
    // y-websocket added this handler in its constructor: take it over.
    process.off('exit', this._exitHandler);
    liveExitHandlers.add(this._exitHandler);
    if (!isExitListenerInstalled) {
      isExitListenerInstalled = true;
      process.on('exit', () => {
        for (const handler of liveExitHandlers) handler();
      });
    }
  }

  override destroy(): void {
    liveExitHandlers.delete(this._exitHandler);
    super.destroy();
  }
}

/** How many live providers the shared exit listener serves now. */
export function liveSyncProviders(): number {
  return liveExitHandlers.size;
}
