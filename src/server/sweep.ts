// One interval per door that checks every connection's deadlines, instead of a timer per connection:
// the timeouts are coarse (seconds) and a setTimeout with its clearTimeout is paid on every request
// (every connection, behind nginx's uwsgi). Used by the net engine's door and the uwsgi door.

/**
 * Runs `tick(now, late)` every `everyMs` while started; `tick` answers false when nothing is left to
 * watch. `late` is how much later than due this tick runs, 0 unless the event loop was held (an
 * application that ran synchronously for seconds): a door whose deadlines count from a clock read at
 * the last tick moves them on by that much, so that the time the server itself stood still is not
 * counted against its clients.
 */
export class Sweep {
  private timer: ReturnType<typeof setInterval> | null = null;
  private last = 0;

  constructor(
    readonly everyMs: number,
    private readonly tick: (now: number, late: number) => boolean,
  ) {}

  /** How often a door sweeps for its shortest timeout: an eighth of it, from 20 ms to 250 ms. */
  static period(shortestMs: number): number {
    return Math.max(20, Math.min(250, shortestMs / 8));
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Starts the interval (unref'd: it never keeps the process alive by itself); no-op when running. */
  start(): void {
    if (this.timer !== null) return;
    this.last = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      // A tick up to one period late is the timer's ordinary jitter under load.
      const late = now - this.last > 2 * this.everyMs ? now - this.last - this.everyMs : 0;
      this.last = now;
      if (!this.tick(now, late)) this.stop();
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
