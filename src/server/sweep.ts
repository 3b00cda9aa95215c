// One interval per door that checks every connection's deadlines, instead of a timer per connection:
// the timeouts are coarse (seconds) and a setTimeout with its clearTimeout is paid on every request
// (every connection, behind nginx's uwsgi). Used by the net engine's door and the uwsgi door.

/** Runs `tick(now)` every `everyMs` while started; `tick` answers false when nothing is left to watch. */
export class Sweep {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly everyMs: number,
    private readonly tick: (now: number) => boolean,
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
    this.timer = setInterval(() => {
      if (!this.tick(Date.now())) this.stop();
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
