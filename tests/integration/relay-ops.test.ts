/**
 * What an operator runs the relay with (issue 9; docs/operations.md), against real processes on
 * loopback: GET /metrics counts what admission did, by rule; GET /readyz says when to send
 * peers; SIGTERM drains (503), closes every peer with 1012 so it reconnects, and exits 0; the
 * logs are JSON records without the admin token or an enrolment code.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signDetached, toBase64Url } from '../../crypto/index.ts';
import { CloseCode, enrolmentSigningBytes } from '../../protocol/index.ts';
import { logRecords } from '../helpers/logs.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';
import { entryUpdate, fakeDevice, fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';
import { TestValidator } from '../helpers/testValidator.ts';

const running: StartedProcess[] = [];
const clients: RawRelayClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.end();
  await Promise.all(running.splice(0).map((p) => p.stop()));
  removeTempDirs();
});

async function start(args: string[]): Promise<StartedProcess> {
  const started = await startRollcall(args);
  running.push(started);
  return started;
}

async function connect(baseUrl: string, room: string, options: ConstructorParameters<typeof RawRelayClient>[1] = {}): Promise<RawRelayClient> {
  const client = await RawRelayClient.connect(baseUrl, room, options);
  clients.push(client);
  return client;
}

/** The upgrade's HTTP status, or 101 when the relay took the WebSocket. */
async function upgradeStatus(baseUrl: string, room: string, device: string): Promise<number> {
  try {
    (await connect(baseUrl, room, { device })).end();
    return 101;
  } catch (error) {
    const status = /HTTP (\d+)/.exec(String(error))?.[1];
    if (!status) throw error;
    return Number(status);
  }
}

/** GET /metrics as `name{labels}` → value (Prometheus text format, one sample a line). */
async function metrics(baseUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

describe('a relay an operator can run', () => {
  it('[R9][R10] GET /metrics counts an admitted entry, connections by kind, and refusals by rule: R9 at the upgrade, R10 for a phone’s receipt', async () => {
    const relayDir = tempDir('rollcall-ops-relay-');
    const validator = await new TestValidator('ops-validator').enrolInDataDir(relayDir);
    const relay = await start(['relay', '--data', relayDir]);
    const before = await metrics(relay.baseUrl);
    expect(before.get('rollcall_relay_refused_total{rule="R9"}')).toBe(0);
    expect(before.get('rollcall_relay_refused_total{rule="R10"}')).toBe(0);
    expect(before.get('rollcall_relay_updates_admitted_total')).toBe(0);
    expect(before.get('rollcall_relay_reachable{part="store"}')).toBe(1);
    expect(before.has('rollcall_relay_reachable{part="bus"}')).toBe(false); // no --bus
    expect(before.get('rollcall_relay_store_failures_total')).toBe(0);

    const room = randomUUID();
    expect(await upgradeStatus(relay.baseUrl, room, fakeDevice())).toBe(404);
    const owner = await connect(relay.baseUrl, room, { validator });
    const device = fakeDevice();
    const phone = await connect(relay.baseUrl, room, { device });
    const entry = fakeEntry(device);
    phone.sendUpdate(entryUpdate(entry));
    await waitFor(() => owner.doc.getMap('entries').has(entry.n), { message: 'the entry to reach the validator' });
    const open = await metrics(relay.baseUrl);
    expect(open.get('rollcall_relay_connections{kind="phone"}')).toBe(1);
    expect(open.get('rollcall_relay_connections{kind="validator"}')).toBe(1);
    expect(open.get('rollcall_relay_open_rooms')).toBe(1);

    phone.sendUpdate(receiptUpdate(fakeReceipt(entry.n)));
    expect(await phone.closed()).toMatchObject({ code: CloseCode.Forbidden });
    expect(phone.deniedReason).toMatch(/^R10: /);
    const after = await metrics(relay.baseUrl);
    expect(after.get('rollcall_relay_refused_total{rule="R9"}')).toBe(1);
    expect(after.get('rollcall_relay_refused_total{rule="R10"}')).toBe(1);
    expect(after.get('rollcall_relay_refused_total{rule="R7"}')).toBe(0);
    expect(after.get('rollcall_relay_updates_admitted_total')).toBe(1);
    expect(after.get('rollcall_relay_store_append_seconds_count')).toBe(1);
    expect(after.get('rollcall_relay_store_append_seconds_sum')).toBeGreaterThan(0);
    expect(after.get('rollcall_relay_received_bytes_total')).toBeGreaterThan(entryUpdate(entry).length);
    expect(after.get('rollcall_relay_sent_bytes_total')).toBeGreaterThan(0);
    expect(after.get('rollcall_relay_connections{kind="phone"}')).toBe(0);
    expect(after.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // Counts only: nothing that names a room, a device or a validator.
    const text = await (await fetch(`${relay.baseUrl}/metrics`)).text();
    for (const secretish of [room, device, validator.publicKey, validator.name]) expect(text).not.toContain(secretish);
  });

  it('GET /readyz is 200 while serving; on SIGTERM it turns 503 and upgrades are refused while draining, every peer is closed with 1012, and the relay exits 0', async () => {
    const relayDir = tempDir('rollcall-ops-relay-');
    const validator = await new TestValidator('ops-validator').enrolInDataDir(relayDir);
    const relay = await start(['relay', '--data', relayDir, '--drain-seconds', '3']);
    const ready = await fetch(`${relay.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
    const room = randomUUID();
    const owner = await connect(relay.baseUrl, room, { validator });
    const phone = await connect(relay.baseUrl, room, { device: fakeDevice() });

    relay.child.kill('SIGTERM');
    const draining = await waitFor(async () => {
      const answer = await fetch(`${relay.baseUrl}/readyz`);
      return answer.status === 503 ? answer : undefined;
    }, { message: '/readyz to answer 503' });
    expect(await draining.json()).toMatchObject({ ok: false, reason: expect.stringMatching(/draining/) });
    expect((await fetch(`${relay.baseUrl}/healthz`)).status).toBe(200);
    expect(await upgradeStatus(relay.baseUrl, room, fakeDevice())).toBe(503);
    // Connected peers keep syncing while the load balancer notices.
    expect(phone.close).toBeUndefined();

    expect(await relay.exited).toBe(0);
    expect(await phone.closed()).toMatchObject({ code: CloseCode.Restarting });
    expect(await owner.closed()).toMatchObject({ code: CloseCode.Restarting });
    const messages = logRecords(relay.stderr()).map((record) => record.msg);
    expect(messages).toEqual(expect.arrayContaining(['stopping', 'stopped']));
  });

  it('rollcall start --log-format json: every stderr line is a JSON record, and none holds the admin token or an enrolment code', async () => {
    const dataDir = tempDir('rollcall-ops-start-');
    const server = await start(['start', '--data', dataDir, '--log-format', 'json', '--require-token']);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    // Things that put a token or a code in front of the logger: an authorised professor request, an enrolment.
    const answer = await fetch(`${server.baseUrl}/create_session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ course: 'Networks', duration_minutes: 20 }),
    });
    expect(answer.status).toBe(201);
    const created = (await answer.json()) as { session_id: string };
    expect((await fetch(`${server.baseUrl}/sessions?token=${token}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const enrol = await runCli(['relay', 'enroll', '--name', 'prof-lovelace', '--data', dataDir]);
    const code = /^\s+([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3})\s*$/m.exec(enrol.stdout)?.[1];
    expect(code).toBeDefined();
    const laptop = new TestValidator('prof-lovelace');
    const redeemed = await fetch(`${server.baseUrl}/validators/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, public_key: laptop.publicKey, proof: toBase64Url(signDetached(enrolmentSigningBytes(code!), laptop.identity.secretKey)) }),
    });
    expect(redeemed.status).toBe(200);
    await waitFor(() => /validator enrolled/.test(server.stderr()), { message: 'the enrolment log line' });
    // The embedded relay answers the operator's routes on the one port too.
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
    expect((await metrics(server.baseUrl)).get('rollcall_relay_connections{kind="validator"}')).toBeGreaterThanOrEqual(1);
    expect(await server.stop()).toBe(0);

    const records = logRecords(server.stderr());
    const messages = records.map((record) => record.msg);
    expect(messages).toEqual(expect.arrayContaining(['http', 'session created', 'validator enrolled', 'stopping', 'stopped']));
    expect(records.find((record) => record.msg === 'session created')).toMatchObject({ level: 'info', component: 'validator', session: created.session_id });
    expect([...new Set(records.map((record) => record.component))]).toEqual(expect.arrayContaining(['validator', 'relay', 'cli']));
    expect(server.stderr()).not.toContain(token);
    expect(server.stderr()).not.toContain(code!);
  });

  it('a server that cannot start says why in one JSON record when the logs are JSON', async () => {
    const first = await start(['relay', '--data', tempDir('rollcall-ops-relay-')]);
    const second = await runCli(['relay', '--data', tempDir('rollcall-ops-relay-'), '--port', String(first.port), '--host', '127.0.0.1', '--log-format', 'json']);
    expect(second.code).toBe(1);
    expect(logRecords(second.stderr)).toEqual([expect.objectContaining({ level: 'error', component: 'cli', msg: expect.stringMatching(/already in use/) })]);
  });
});
