/**
 * A Relay mounted on a plain Node HTTP server in the test's own process, on a free loopback
 * port: for tests that need to reach into the relay (inject a refusal, read its trust) while
 * still talking to it over real sockets. `close()` stops the relay, then the server.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Relay, type RelayOptions } from '../../relay/index.ts';

export interface InProcessRelay {
  relay: Relay;
  port: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  close(): Promise<void>;
}

export async function serveRelay(options: RelayOptions): Promise<InProcessRelay> {
  const relay = new Relay(options);
  const server = createServer((req, res) => void (relay.handleHttp(req, res) || res.writeHead(404).end()));
  server.on('upgrade', (req, socket, head) => void (relay.handleUpgrade(req, socket, head) || socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    relay,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await relay.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
