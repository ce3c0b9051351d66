import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReadScheduler } from '../../client/professor/ReadScheduler.ts';
import { waitFor } from '../helpers/processes.ts';

/** A read that the test finishes by hand, recording when each one started. */
function manualReads() {
  const started: number[] = [];
  const pending: (() => void)[] = [];
  const read = () =>
    new Promise<void>((done) => {
      started.push(performance.now());
      pending.push(done);
    });
  const finishAll = () => {
    for (const done of pending.splice(0)) done();
  };
  return { read, started, pending, finishAll };
}

describe('ReadScheduler', () => {
  afterEach(() => vi.restoreAllMocks());

  it('never runs two reads at once: calls during a read make exactly one more read after it', async () => {
    const reads = manualReads();
    const scheduler = new ReadScheduler(reads.read, { gapMs: 1000 });
    const first = scheduler.now();
    void scheduler.now();
    void scheduler.now();
    expect(reads.started.length).toBe(1);
    reads.finishAll();
    await waitFor(() => reads.pending.length === 1, { message: 'the one read after' });
    expect(reads.started.length).toBe(2);
    reads.finishAll();
    await first;
    expect(reads.started.length).toBe(2);
  });

  it('starts reads asked for by changes at least gapMs apart, and reads after the last change', async () => {
    const reads = manualReads();
    const scheduler = new ReadScheduler(async () => {
      void reads.read();
      reads.finishAll();
    }, { gapMs: 120 });
    scheduler.soon(); // nothing read yet: at once
    await waitFor(() => reads.started.length === 1, { message: 'the first read' });
    for (let i = 0; i < 5; i++) scheduler.soon(); // a burst: one more read, after the gap
    await waitFor(() => reads.started.length === 2, { message: 'the paced read' });
    expect(reads.started[1]! - reads.started[0]!).toBeGreaterThanOrEqual(119);
    scheduler.soon();
    await waitFor(() => reads.started.length === 3, { message: 'the read after the last change' });
    expect(reads.started[2]! - reads.started[1]!).toBeGreaterThanOrEqual(119);
  });

  it('keeps its pace when the wall clock is stepped back an hour between reads', async () => {
    const reads = manualReads();
    const scheduler = new ReadScheduler(async () => {
      void reads.read();
      reads.finishAll();
    }, { gapMs: 120 });
    scheduler.soon();
    await waitFor(() => reads.started.length === 1, { message: 'the first read' });
    const wallMs = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(wallMs - 3_600_000); // NTP, or a laptop waking
    scheduler.soon();
    await waitFor(() => reads.started.length === 2, { message: 'the paced read, not an hour later', timeoutMs: 2_000 });
    expect(reads.started[1]! - reads.started[0]!).toBeGreaterThanOrEqual(119);
  });
});
