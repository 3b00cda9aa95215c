// Prometheus text exposition (format 0.0.4) of the counters every worker sends with its heartbeat,
// summed by the master over live workers and the ones that have exited.
import { BUCKETS, type WorkerMetrics } from './messages.js';

export interface MetricsSnapshot {
  live: WorkerMetrics[];
  retired: WorkerMetrics;
  busy: number;
  idle: number;
  restarts: Record<string, number>;
}

export function emptyMetrics(): WorkerMetrics {
  return { statuses: {}, buckets: new Array(BUCKETS.length + 1).fill(0), durationSum: 0 };
}

export function addMetrics(into: WorkerMetrics, m: WorkerMetrics): void {
  for (const [k, v] of Object.entries(m.statuses)) into.statuses[k] = (into.statuses[k] ?? 0) + v;
  m.buckets.forEach((v, i) => (into.buckets[i] = (into.buckets[i] ?? 0) + v));
  into.durationSum += m.durationSum;
}

export function renderMetrics(s: MetricsSnapshot): string {
  const total = emptyMetrics();
  addMetrics(total, s.retired);
  for (const m of s.live) addMetrics(total, m);
  const out: string[] = [];
  out.push('# HELP tsgi_requests_total Requests answered, by status code.', '# TYPE tsgi_requests_total counter');
  const codes = Object.keys(total.statuses).sort();
  for (const c of codes) out.push(`tsgi_requests_total{status="${c}"} ${total.statuses[c]}`);
  out.push('# HELP tsgi_request_duration_seconds Time from the request reaching the application to the end of its response.');
  out.push('# TYPE tsgi_request_duration_seconds histogram');
  BUCKETS.forEach((b, i) => out.push(`tsgi_request_duration_seconds_bucket{le="${b}"} ${total.buckets[i]}`));
  const count = total.buckets[BUCKETS.length]!;
  out.push(`tsgi_request_duration_seconds_bucket{le="+Inf"} ${count}`);
  out.push(`tsgi_request_duration_seconds_sum ${total.durationSum}`);
  out.push(`tsgi_request_duration_seconds_count ${count}`);
  out.push('# HELP tsgi_workers Worker processes, busy (a request in flight) or idle, at their last heartbeat.', '# TYPE tsgi_workers gauge');
  out.push(`tsgi_workers{state="busy"} ${s.busy}`, `tsgi_workers{state="idle"} ${s.idle}`);
  out.push('# HELP tsgi_worker_restarts_total Workers replaced, by reason.', '# TYPE tsgi_worker_restarts_total counter');
  for (const [reason, n] of Object.entries(s.restarts).sort()) out.push(`tsgi_worker_restarts_total{reason="${reason}"} ${n}`);
  return out.join('\n') + '\n';
}
