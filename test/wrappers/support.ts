// Shared by the wrappers tests: a real tsgi HTTP server on 127.0.0.1 (a free port) running the app
// under validate(), a multipart body builder, a raw HTTP/1.1 client for bodies fetch cannot send
// (cut short, streamed by hand), and a per-test temporary directory for spooled uploads.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, type ServerHandle } from '../../src/http/serve.js';
import type { Application } from '../../src/spec.js';
import { validate } from '../../src/validate.js';

/** Lines the server logged, for assertions (and so a failing test can show them). */
export interface Served {
  server: ServerHandle;
  url: string;
  log: string[];
}

/** Runs `fn` against `app` (wrapped in validate()) on a real server, then stops the server. */
export async function withServer<T>(app: Application, fn: (s: Served) => Promise<T>): Promise<T> {
  const log: string[] = [];
  const logger = { error: (m: string) => log.push(m), warn: (m: string) => log.push(m), info: (m: string) => log.push(m) };
  const server = await serve(validate(app), { host: '127.0.0.1', port: 0, log: logger });
  try {
    return await fn({ server, url: server.url, log });
  } finally {
    await server.close();
  }
}

/** A fresh directory for temporary upload files; `files()` lists it, `remove()` deletes it. */
export function tempDir(): { dir: string; files(): string[]; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-wrappers-test-'));
  return { dir, files: () => readdirSync(dir), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls until `check()` is true or `ms` have passed; returns the last result. */
export async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export interface Part {
  name: string;
  value: string | Uint8Array;
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body built by hand (so tests control every byte), with its boundary. */
export function multipart(parts: Part[], boundary = 'tsgiBoundary7MA4YWxkTrZu0gW'): { body: Buffer; contentType: string; boundary: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(head + '\r\n', 'utf8'), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}

export interface RawResult {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends `head` (the request line and headers, CRLF-terminated, without the blank line) and `body`
 * over a fresh socket with Connection: close, and collects the response.
 */
export function rawRequest(url: string, head: string, body: Uint8Array | string = ''): Promise<RawResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(text.slice(9, 12)), head: text.slice(0, split), body: text.slice(split + 4) });
    });
    socket.write(`${head}Connection: close\r\n\r\n`);
    socket.end(body);
  });
}

/** The resident set size of this process in bytes (VmRSS), as the kernel reports it. */
export async function rss(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile('/proc/self/status', 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
