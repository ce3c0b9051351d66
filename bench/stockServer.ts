/**
 * Baseline (a): the stock y-websocket server, `@y/websocket-server@0.1.1` (the last release on
 * yjs 13), with no admission, no filtering and no persistence. Run as its own process so its
 * CPU and memory are measured like the relay's: `node cli/bin/run-ts.js bench/stockServer.ts <port>`.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { setupWSConnection } from '@y/websocket-server/utils';

const port = Number(process.argv[2] ?? 0);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (socket, req) => {
  const room = (req.url ?? '/').slice(1).split('?')[0]!.replace(/^sync\//, '');
  setupWSConnection(socket, req, { docName: room, gc: true });
});
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`stock y-websocket server listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`);
});
process.on('SIGTERM', () => process.exit(0));
