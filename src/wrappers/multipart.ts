/**
 * multipart/form-data (RFC 7578) through `@fastify/busboy`, a maintained streaming parser: the body is
 * fed in 64 KiB pieces, each only after the parser has taken the last one, and each file part drains
 * into `spool()` (memory, then a temporary file), so nothing is buffered without bound.
 *
 * Werkzeug's limits, each a 413: `maxFormParts` parts, `maxFormMemorySize` bytes per non-file field,
 * `maxFileSize` bytes per file (tsgi's addition). A body that is not valid multipart (no boundary, a
 * boundary that breaks RFC 2046, a body that ends before the closing delimiter) is a 400. On any failure
 * the files spooled so far are removed before the error propagates.
 * @module
 */
import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import { BadRequest, HTTPException, RequestEntityTooLarge } from '../exceptions/index.js';
import type { ChunkSource } from './body.js';
import { spool, UploadedFile, type TempFiles } from './files.js';
import { MultiDict } from './multidict.js';

export interface MultipartLimits {
  maxFormMemorySize: number | null;
  maxFormParts: number | null;
  maxFileSize: number | null;
  spoolThreshold: number;
  /** Bytes of one part's header block (busboy's headerSize). */
  maxPartHeaderSize: number;
}

export interface ParsedForm {
  form: MultiDict<string>;
  files: MultiDict<UploadedFile>;
}

/** RFC 2046 §5.1.1: 1 to 70 bchars, the last not a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** The boundary parameter of a multipart Content-Type, or a 400 saying what is wrong with it. */
export function boundaryOf(params: Record<string, string>): string {
  const boundary = params['boundary'];
  if (boundary === undefined || boundary === '') throw new BadRequest('The multipart/form-data body has no boundary parameter.');
  if (!BOUNDARY.test(boundary)) throw new BadRequest('The multipart boundary is not valid (RFC 2046: 1-70 characters from a fixed set).');
  return boundary;
}

/** Parses a multipart/form-data body; `contentType` is the request's header, `boundary` already checked. */
export async function parseMultipart(source: ChunkSource, contentType: string, limits: MultipartLimits, temp: TempFiles): Promise<ParsedForm> {
  let failure: unknown = null;
  let rejectFailed!: (err: unknown) => void;
  // Settles (rejects) at the first failure, so no wait below can hang on a parser that stopped.
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => {});
  const fail = (err: unknown) => {
    if (failure !== null) return;
    failure = err;
    rejectFailed(err);
  };

  let bb: ReturnType<typeof Busboy>;
  try {
    bb = Busboy({
      headers: { 'content-type': contentType },
      // A part is a file exactly when it has a filename (Werkzeug's rule; busboy would also take any
      // application/octet-stream part for one).
      isPartAFile: (_name, _type, filename) => filename !== undefined,
      limits: {
        fieldSize: limits.maxFormMemorySize ?? Infinity,
        fileSize: limits.maxFileSize ?? Infinity,
        parts: limits.maxFormParts ?? Infinity,
        headerSize: limits.maxPartHeaderSize,
        headerPairs: 100,
      },
    });
  } catch (err) {
    throw malformed(err);
  }

  const fields: Array<[number, string, string]> = [];
  const files: Array<Promise<[number, UploadedFile]>> = [];
  // File parts still being received: on a failure they are destroyed, so their spools stop and clean up
  // (busboy.destroy() alone leaves them waiting for data that will never come).
  const open = new Set<BusboyFileStream>();
  let order = 0;

  bb.on('field', (name, value, _nameTruncated, valueTruncated) => {
    if (valueTruncated) fail(new RequestEntityTooLarge(`The form field ${JSON.stringify(name)} exceeds the limit of ${limits.maxFormMemorySize} bytes.`));
    else fields.push([order++, name, value]);
  });
  bb.on('file', (name: string, stream: BusboyFileStream, filename: string, _encoding: string, mimeType: string) => {
    const position = order++;
    open.add(stream);
    stream.once('close', () => open.delete(stream));
    stream.on('limit', () => {
      fail(new RequestEntityTooLarge(`The file ${JSON.stringify(filename)} exceeds the limit of ${limits.maxFileSize} bytes.`));
      stream.destroy(new RequestEntityTooLarge());
    });
    const done = spool(stream, limits.spoolThreshold, temp).then(
      (spooled): [number, UploadedFile] => [position, new UploadedFile(name, filename, mimeType, spooled)],
      (err: unknown) => {
        fail(err instanceof HTTPException ? err : err instanceof Error && /terminated early/.test(err.message) ? truncated() : err);
        throw err;
      },
    );
    done.catch(() => {});
    files.push(done);
  });
  bb.on('partsLimit', () => fail(new RequestEntityTooLarge(`The form has more than ${limits.maxFormParts} parts.`)));
  bb.on('error', (err: unknown) => fail(malformed(err)));
  const finished = new Promise<void>((resolve) => bb.on('finish', resolve));

  try {
    for await (const chunk of source.chunks()) {
      if (failure !== null) break;
      const written = new Promise<void>((resolve, reject) => bb.write(chunk, (err) => (err ? reject(malformed(err)) : resolve())));
      written.catch(() => {}); // after a failure nobody waits for it
      await Promise.race([written, failed]);
    }
    if (failure === null) {
      bb.end();
      await Promise.race([finished, failed]);
    }
    const settled = await Promise.allSettled(files);
    if (failure !== null) throw failure;
    const bad = settled.find((s) => s.status === 'rejected');
    if (bad) throw (bad as PromiseRejectedResult).reason;
    const out: ParsedForm = { form: new MultiDict(), files: new MultiDict() };
    for (const [, name, value] of fields) out.form.append(name, value);
    const uploads = settled.map((s) => (s as PromiseFulfilledResult<[number, UploadedFile]>).value).sort((a, b) => a[0] - b[0]);
    for (const [, file] of uploads) out.files.append(file.name, file);
    return out;
  } catch (err) {
    fail(err);
    bb.destroy();
    for (const stream of open) stream.destroy(err instanceof Error ? err : new Error(String(err)));
    // Let every part's spool see the end and remove its half-written file, then remove the finished ones.
    await Promise.allSettled(files);
    await temp.cleanup();
    throw err;
  }
}

function truncated(): BadRequest {
  return new BadRequest('The multipart/form-data body ended before its closing boundary.');
}

function malformed(err: unknown): unknown {
  if (err instanceof HTTPException) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/Unexpected end/.test(message)) return truncated();
  return new BadRequest(`The multipart/form-data body is malformed (${message}).`, { cause: err });
}
