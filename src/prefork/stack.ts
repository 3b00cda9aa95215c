// The JavaScript stack of a worker whose event loop is stuck, read by the master.
//
// A blocked main thread cannot report on itself: a signal handler in JavaScript, --report-on-signal
// and an in-process inspector session all wait for the loop. Node's own debug signal does not:
// SIGUSR1 (with no JavaScript listener for it, which is why workers take "reopen the logs" over
// IPC instead) starts the inspector from a separate thread, and the inspector hands its messages
// to V8 through an interrupt, which a busy loop services. So the master sends SIGUSR1, connects to
// the inspector the worker opened on 127.0.0.1 (the port the worker chose at boot and reported
// when ready), asks it to pause, and reads the call frames. The worker is killed right after, so
// the debugger is open on loopback only for this moment. A thread blocked inside native code (a
// synchronous read of a pipe, Atomics.wait) takes no interrupt: then there is no stack to show, and
// the deadline says so.
import { WebSocket } from 'ws';

// Not an ES import of node:http: that would load undici in the master (src/http/node/server.ts says why).
const http = process.getBuiltinModule('node:http');

export interface Frame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

interface Target {
  webSocketDebuggerUrl?: string;
}

function targets(port: number, signal: AbortSignal): Promise<Target[]> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/json/list', signal }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as Target[]);
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The debugger's WebSocket URL, once the inspector the signal started answers. */
async function debuggerUrl(port: number, signal: AbortSignal): Promise<string> {
  for (;;) {
    signal.throwIfAborted();
    try {
      const url = (await targets(port, signal))[0]?.webSocketDebuggerUrl;
      if (url) return url;
    } catch {
      /* not listening yet */
    }
    await pause(20);
  }
}

function pausedFrames(url: string, signal: AbortSignal): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const scripts = new Map<string, string>();
    let frames: Frame[] | undefined;
    const done = (err: Error | null, frames?: Frame[]) => {
      signal.removeEventListener('abort', onAbort);
      ws.terminate();
      if (err) reject(err);
      else resolve(frames!);
    };
    const onAbort = () => done(new Error('timed out'));
    signal.addEventListener('abort', onAbort);
    ws.on('error', (err) => done(err));
    ws.on('open', () => {
      ws.send(JSON.stringify({ id: 1, method: 'Debugger.enable' }));
      ws.send(JSON.stringify({ id: 2, method: 'Debugger.pause' }));
    });
    ws.on('message', (data) => {
      let m: { method?: string; params?: Record<string, unknown> };
      try {
        m = JSON.parse(String(data));
      } catch {
        return;
      }
      if (m.method === 'Debugger.scriptParsed') {
        const p = m.params as { scriptId: string; url: string };
        scripts.set(p.scriptId, p.url);
      } else if (m.method === 'Debugger.paused') {
        const callFrames = (
          m.params as {
            callFrames: {
              callFrameId: string;
              functionName: string;
              url?: string;
              location: { scriptId: string; lineNumber: number; columnNumber?: number };
            }[];
          }
        ).callFrames;
        frames = callFrames.map((f) => ({
          functionName: f.functionName,
          url: f.url || scripts.get(f.location.scriptId) || '',
          line: f.location.lineNumber + 1,
          column: (f.location.columnNumber ?? 0) + 1,
        }));
        // The frames above are positions in the code V8 runs: for TypeScript, tsx's output. An
        // Error built in the paused frame gets node's own stack text, which follows source maps
        // when they are on (tsx turns them on): positions in the file the developer wrote.
        if (callFrames[0]) {
          ws.send(
            JSON.stringify({
              id: 3,
              method: 'Debugger.evaluateOnCallFrame',
              params: { callFrameId: callFrames[0].callFrameId, expression: EXPR, returnByValue: true, silent: true },
            }),
          );
        } else done(null, frames);
      } else if ((m as { id?: number }).id === 3 && frames) {
        const value = (m as { result?: { result?: { value?: unknown } } }).result?.result?.value;
        done(null, typeof value === 'string' && value.includes('\n    at ') ? Object.assign(frames, { text: value }) : frames);
      }
    });
  });
}

// Evaluated in the paused frame: the first line of the stack is the evaluation itself.
const EXPR = `(() => { const l = Error.stackTraceLimit; Error.stackTraceLimit = 50; const s = new Error('stack').stack; Error.stackTraceLimit = l; return s; })()`;

/**
 * Signals the worker, connects to the inspector it opens on 127.0.0.1:`port` and returns the
 * frames of the paused main thread, innermost first. Rejects when that takes longer than
 * `budgetMs` (the thread is blocked in native code, or the port was taken).
 */
export async function captureStack(pid: number, port: number, budgetMs: number): Promise<Frame[] & { text?: string }> {
  const signal = AbortSignal.timeout(budgetMs);
  process.kill(pid, 'SIGUSR1');
  return pausedFrames(await debuggerUrl(port, signal), signal);
}

/** `    at name (file:line:col)` lines, as in an Error's stack; node's internals included. */
export function formatFrames(frames: Frame[] & { text?: string }, max = 40): string {
  if (frames.text) {
    // Node's text, minus the message line and the frames of the evaluation itself ("eval at").
    const own = frames.text.split('\n').filter((l) => l.startsWith('    at ') && !l.includes('eval at '));
    if (own.length > 0) return own.slice(0, max).join('\n');
  }
  const lines = frames.slice(0, max).map((f) => {
    const where = `${f.url.startsWith('file://') ? decodeURIComponent(f.url.slice(7)) : f.url || '<anonymous>'}:${f.line}:${f.column}`;
    return f.functionName ? `    at ${f.functionName} (${where})` : `    at ${where}`;
  });
  if (frames.length > max) lines.push(`    ... ${frames.length - max} more`);
  return lines.join('\n');
}
