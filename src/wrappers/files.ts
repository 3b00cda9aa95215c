/**
 * Uploaded files: `UploadedFile` (Werkzeug's FileStorage) and the spooling behind it. A part stays in
 * memory up to a threshold (500 KiB, as Werkzeug's default stream factory), then moves to a temporary
 * file that only this process can read (mode 0600, an unguessable name), written with backpressure so
 * memory stays flat however large the upload. Every temporary file belongs to a `TempFiles` set that the
 * request empties when it ends, whichever way it ends.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, open, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { TsgiError } from '../errors.js';
import { Readable } from 'node:stream';

/** Thrown into a parse that is still writing when the request has ended. */
export class RequestClosedError extends TsgiError {
  override name = 'RequestClosedError';
  constructor() {
    super('TSGI_ERR_REQUEST_CLOSED', 'the request ended (closed or the client went away) while its body was being parsed');
  }
}

/** The temporary files of one request; `cleanup()` removes them all and refuses new ones. */
export class TempFiles {
  private readonly paths = new Set<string>();
  private closed = false;

  constructor(readonly dir: string) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** A new, empty file only this process can read; registered before it exists, so no path escapes cleanup. */
  async create(): Promise<{ path: string; handle: FileHandle }> {
    if (this.closed) throw new RequestClosedError();
    const file = path.join(this.dir, `tsgi-upload-${randomUUID()}`);
    this.paths.add(file);
    const handle = await open(file, 'wx', 0o600);
    if (this.closed) {
      // cleanup() ran while the file was being opened: it may have missed it.
      await handle.close();
      await this.remove(file);
      throw new RequestClosedError();
    }
    return { path: file, handle };
  }

  /** Removes one file now (a part that failed half-way). */
  async remove(file: string): Promise<void> {
    this.paths.delete(file);
    await unlink(file).catch(() => {});
  }

  /** Removes every file; later `create()` calls throw. Safe to call any number of times. */
  async cleanup(): Promise<void> {
    this.closed = true;
    const files = [...this.paths];
    this.paths.clear();
    // A part still being written keeps its handle on the unlinked file until its next write, which
    // then fails with RequestClosedError (spool checks isClosed) and closes it.
    await Promise.all(files.map((f) => unlink(f).catch(() => {})));
  }
}

/** What a spooled part became: its bytes in memory, or the path of its temporary file. */
export interface Spooled {
  size: number;
  memory: Uint8Array | null;
  path: string | null;
}

/**
 * Drains `source` into memory, or into a temporary file once it passes `threshold` bytes. A file left
 * half-written by an error is removed before the error propagates.
 */
export async function spool(source: AsyncIterable<Uint8Array>, threshold: number, temp: TempFiles): Promise<Spooled> {
  const held: Uint8Array[] = [];
  let size = 0;
  let file: { path: string; handle: FileHandle } | null = null;
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (file === null && size <= threshold) {
        held.push(chunk);
        continue;
      }
      if (file === null) {
        file = await temp.create();
        for (const h of held) await writeAll(file.handle, h);
        held.length = 0;
      }
      if (temp.isClosed) throw new RequestClosedError();
      await writeAll(file.handle, chunk);
    }
    if (file === null) return { size, memory: held.length === 1 ? held[0]! : Buffer.concat(held, size), path: null };
    await file.handle.close();
    const done: Spooled = { size, memory: null, path: file.path };
    file = null;
    return done;
  } catch (err) {
    if (file !== null) {
      await file.handle.close().catch(() => {});
      await temp.remove(file.path);
    }
    throw err;
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/**
 * A file from a multipart/form-data upload. It lives as long as the request: its temporary file is
 * removed when the request ends, so `saveTo()` it (or read it) before the response is done.
 */
export class UploadedFile {
  /** The form field's name. */
  readonly name: string;
  /**
   * The file name the client gave, without any directory part (`C:\x\a.txt` and `../a.txt` both give
   * `a.txt`), decoded as UTF-8; `''` for an empty file input. Never trust it as a path: sanitize it
   * before using it in one.
   */
  readonly filename: string;
  /** The part's Content-Type (`text/plain` when the client sent none, RFC 7578 §4.4). */
  readonly contentType: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The temporary file holding it, or null when it is held in memory (up to the spool threshold). */
  readonly path: string | null;
  private readonly memory: Uint8Array | null;

  constructor(name: string, filename: string, contentType: string, spooled: Spooled) {
    this.name = name;
    this.filename = filename;
    this.contentType = contentType;
    this.size = spooled.size;
    this.path = spooled.path;
    this.memory = spooled.memory;
  }

  /** The media type without parameters, lower-cased (`text/plain`). */
  get mimetype(): string {
    return this.contentType.split(';')[0]!.trim().toLowerCase();
  }

  /** A new stream of the content, from the start (call it again for another pass). */
  stream(): Readable {
    if (this.path !== null) return createReadStream(this.path);
    return Readable.from([this.memory!], { objectMode: false });
  }

  /** The whole content in memory: mind the size of large uploads. */
  async bytes(): Promise<Uint8Array> {
    if (this.memory !== null) return this.memory;
    const chunks: Buffer[] = [];
    for await (const c of this.stream()) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** The content decoded as UTF-8 (invalid bytes become U+FFFD). */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  /** Writes the content to `destination` (replacing it): a copy of the temporary file, or the bytes held. */
  async saveTo(destination: string): Promise<void> {
    if (this.path !== null) await copyFile(this.path, destination);
    else await writeFile(destination, this.memory!);
  }
}
