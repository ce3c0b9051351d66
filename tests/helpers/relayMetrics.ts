/**
 * A relay's GET /metrics as `name{labels}` → value (Prometheus text format, one sample a line):
 * counters a test waits on when it must prove that something did *not* happen (for instance a
 * re-sync admitted as a no-op: nothing stored, nothing broadcast) instead of sleeping.
 */
export async function relayMetrics(baseUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET ${baseUrl}/metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

/** Updates the relay admitted that brought nothing new (re-syncs): neither stored nor broadcast. */
export async function relayNoOpUpdates(baseUrl: string): Promise<number> {
  return (await relayMetrics(baseUrl)).get('rollcall_relay_updates_unchanged_total') ?? 0;
}
