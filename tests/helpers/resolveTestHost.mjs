/**
 * Preloaded into test Node processes (`node --import`, see tests/helpers/https.ts): resolves the
 * name in ROLLCALL_TEST_HOST to 127.0.0.1, as Chromium's --host-resolver-rules does, so a
 * `rollcall validator --relay wss://rollcall.test:<port>` reaches the local Caddy and checks the
 * certificate against that name. Every other name resolves as usual.
 */
import dns from 'node:dns';

const testHost = process.env.ROLLCALL_TEST_HOST;
const lookup = dns.lookup;

dns.lookup = function lookupTestHost(hostname, options, callback) {
  if (!testHost || hostname !== testHost) return lookup.call(this, hostname, options, callback);
  const done = typeof options === 'function' ? options : callback;
  const wantsAll = typeof options === 'object' && options !== null && options.all === true;
  if (wantsAll) process.nextTick(done, null, [{ address: '127.0.0.1', family: 4 }]);
  else process.nextTick(done, null, '127.0.0.1', 4);
  return {};
};
