// The messages between the master and its workers (over the node:child_process IPC channel).
import type { Protocol } from '../server/bind.js';
import type { Settings } from '../settings/index.js';

export interface SocketInfo {
  index: number;
  protocol: Protocol;
  label: string;
  kind: 'tcp' | 'unix' | 'fd';
}

export type ToWorker =
  | { t: 'init'; app: string; settings: Settings; sockets: SocketInfo[]; maxRequests: number; multiprocess: boolean; generation: number }
  /** Sent with a socket handle. */
  | { t: 'socket'; index: number }
  | { t: 'stop'; graceful: boolean }
  | { t: 'reopen' };

export interface WorkerMetrics {
  /** Requests by status code. */
  statuses: Record<string, number>;
  /** Cumulative counts per duration bucket (seconds upper bounds in BUCKETS), then +Inf. */
  buckets: number[];
  durationSum: number;
}

export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type FromWorker =
  /** inspectPort: where the worker's inspector opens on SIGUSR1 (stack.ts); absent without --timeout. */
  | { t: 'ready'; inspectPort?: number }
  | { t: 'boot-error'; message: string }
  | { t: 'hb'; busy: number; metrics?: WorkerMetrics }
  | { t: 'retire'; reason: string };
