/**
 * The bus alone (campus benchmark): K RedisBus instances in this process, every one subscribed
 * to S rooms, each publishing its share of M updates of a typical entry's size. Measures what a
 * relay spends per bus message (this process's CPU, over K buses) and what Redis spends (its
 * process's CPU), and the publish → delivery latency. It needs only redis-server, so the scaling
 * sums in docs/scaling.md have a measured figure for the bus even where no campus runs.
 */
import { randomBytes } from 'node:crypto';
import { RedisBus } from '../relay/RedisBus.ts';
import { startRedis } from '../tests/helpers/redis.ts';
import { cpuSeconds } from './procStats.ts';

export interface BusFigures {
  buses: number;
  rooms: number;
  messages: number;
  payload_bytes: number;
  delivered: number;
  /** This process's CPU (publishing + receiving on every bus), per published message. */
  relays_cpu_us_per_message: number;
  redis_cpu_us_per_message: number;
  /** Messages offered per second (delivered at the same rate when Redis keeps up). */
  messages_per_s: number;
  offered_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

export async function busPhase({ buses = 3, rooms = 50, messages = 20_000, perSecond = 5000, payloadBytes = 700, log }: { buses?: number; rooms?: number; messages?: number; perSecond?: number; payloadBytes?: number; log: (line: string) => void }): Promise<BusFigures> {
  const redis = await startRedis();
  const opened: RedisBus[] = [];
  try {
    for (let i = 0; i < buses; i++) opened.push(await RedisBus.connect(redis.url, { relayId: `bench-relay-${i}` }));
    const roomNames = Array.from({ length: rooms }, (_, i) => `room-${i}`);
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const expected = messages * (buses - 1);
    let delivered = 0;
    let resolveAll: () => void = () => undefined;
    const allDelivered = new Promise<void>((resolve) => (resolveAll = resolve));
    for (const bus of opened) {
      for (const room of roomNames) {
        bus.subscribe(room, (message) => {
          latencies.push(performance.now() - sentAt.get(message.rowId)!);
          if (++delivered === expected) resolveAll();
        });
      }
    }
    // Subscriptions are live once a probe round trip went through every connection.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const payload = new Uint8Array(randomBytes(payloadBytes));
    const ownBefore = process.cpuUsage();
    const redisBefore = cpuSeconds(redis.process.child.pid!);
    const started = performance.now();
    // Offered at a steady `perSecond`, in 10 ms slices, as relays publish while they admit.
    const perSlice = Math.max(1, Math.round(perSecond / 100));
    for (let i = 1; i <= messages; i++) {
      sentAt.set(i, performance.now());
      opened[i % buses]!.publish(roomNames[i % rooms]!, i, payload);
      if (i % perSlice === 0) {
        const dueMs = started + (i / perSecond) * 1000;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueMs - performance.now())));
      }
    }
    const timeout = setTimeout(resolveAll, 60_000);
    await allDelivered;
    clearTimeout(timeout);
    const wallS = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    const redisS = cpuSeconds(redis.process.child.pid!) - redisBefore;
    latencies.sort((a, b) => a - b);
    const at = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]! * 10) / 10;
    const figures = {
      buses,
      rooms,
      messages,
      payload_bytes: payloadBytes,
      delivered,
      relays_cpu_us_per_message: Math.round((own.user + own.system) / messages),
      redis_cpu_us_per_message: Math.round((redisS * 1e6) / messages),
      messages_per_s: Math.round(messages / wallS),
      offered_per_s: perSecond,
      p50_ms: at(50),
      p99_ms: at(99),
    };
    log(`  bus: ${messages} messages at ${perSecond}/s of ${payloadBytes} B from ${buses} buses over ${rooms} rooms: ${delivered}/${expected} delivered, ${figures.messages_per_s}/s, relays ${figures.relays_cpu_us_per_message} µs + Redis ${figures.redis_cpu_us_per_message} µs CPU per message`);
    return figures;
  } finally {
    await Promise.all(opened.map((bus) => bus.close()));
    await redis.stop();
  }
}
