// systemd's readiness protocol (sd_notify(3)): with Type=notify (or notify-reload), systemd waits for
// READY=1 before it counts the service as started, shows STATUS= in `systemctl status`, and learns
// of reloads (RELOADING=1 + MONOTONIC_USEC, then READY=1) and of the stop (STOPPING=1).
//
// The message is a datagram on the unix socket named by $NOTIFY_SOCKET. Node has no unix datagram
// sockets (node:dgram is UDP only) and a native addon for one message is not worth its build, so
// the master hands each message to systemd-notify(1), which ships with systemd wherever
// NOTIFY_SOCKET can be set. As the sender is then a child of the master, the unit needs
// NotifyAccess=all (docs/deploy.md); MAINPID= names the master.
import { execFile } from 'node:child_process';
import type { ServerLog } from './log.js';

export class Notifier {
  private failed = false;

  constructor(
    private readonly log: ServerLog,
    private readonly socket = process.env.NOTIFY_SOCKET,
    private readonly command = 'systemd-notify',
  ) {}

  get enabled(): boolean {
    return Boolean(this.socket) && !this.failed;
  }

  ready(status: string): void {
    this.send([`MAINPID=${process.pid}`, 'READY=1', `STATUS=${status}`]);
  }

  reloading(status: string): void {
    // MONOTONIC_USEC: CLOCK_MONOTONIC, which is what process.hrtime reads on Linux.
    this.send(['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, `STATUS=${status}`]);
  }

  status(status: string): void {
    this.send([`STATUS=${status}`]);
  }

  stopping(status: string): void {
    this.send(['STOPPING=1', `STATUS=${status}`]);
  }

  private send(assignments: string[]): void {
    if (!this.enabled) return;
    execFile(this.command, assignments, { env: { ...process.env, NOTIFY_SOCKET: this.socket }, timeout: 5000 }, (err, _out, stderr) => {
      if (!err || this.failed) return;
      // Once: a missing systemd-notify would otherwise repeat at every reload.
      this.failed = true;
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${this.command} is not on PATH` : String(stderr).trim() || err.message;
      this.log.warn(`NOTIFY_SOCKET is set but the readiness message could not be sent (${why}); systemd will not see READY=1`);
    });
  }
}
