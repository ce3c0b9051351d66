/**
 * When the dashboard re-reads its screen. Reads never overlap (a call during a read makes one
 * more read after it), so an older answer can never land after a newer one; reads asked for by
 * pushed changes ({@link soon}) start at least `gapMs` apart, and the last change is never missed.
 *
 * The gap is kept on the monotonic clock (`performance.now()`): the wall clock can be stepped (NTP,
 * a laptop waking), and a step back would stall the screen for as long as the step. It is checked
 * again when the timer fires, as a timer counts whole milliseconds and may fire up to one early.
 */
export class ReadScheduler {
  readonly #read: () => Promise<void>;
  readonly #gapMs: number;
  #isReading = false;
  #isDue = false;
  #lastStartMs = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(read: () => Promise<void>, { gapMs }: { gapMs: number }) {
    this.#read = read;
    this.#gapMs = gapMs;
  }

  /** Reads now, or right after the read that runs; resolves when no read is due any more. */
  async now(): Promise<void> {
    if (this.#isReading) {
      this.#isDue = true;
      return;
    }
    this.#isReading = true;
    try {
      do {
        this.#isDue = false;
        this.#lastStartMs = performance.now();
        await this.#read();
      } while (this.#isDue);
    } finally {
      this.#isReading = false;
    }
  }

  /** Reads once `gapMs` has passed since the last read started (at once if it has). */
  soon(): void {
    if (this.#timer === undefined) this.#armTimer();
  }

  #armTimer(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#remainingGapMs() > 0) this.#armTimer(); // fired early: wait out the rest
      else void this.now();
    }, this.#remainingGapMs());
  }

  #remainingGapMs(): number {
    return Math.max(0, this.#lastStartMs + this.#gapMs - performance.now());
  }

  /** Forgets a pending {@link soon} (the screen changed: it is read at once anyway). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
