// The guestbook's database, behind one interface with two implementations:
//
// - SQLite through node:sqlite, where the running Node has it (22.5 and later; before 22.13 it also
//   needs --experimental-sqlite). Looked for at run time with a dynamic import, so the example still
//   runs on Node 20.
// - Otherwise a JSON file, rewritten whole (to a temporary file, then renamed over the old one, so a
//   crash never leaves half a file). Fine for a demo with one worker; two processes writing at once
//   can lose one of the writes, which SQLite's locking prevents.
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface Entry {
  id: number;
  name: string;
  message: string;
  /** ISO 8601, UTC. */
  created: string;
}

export interface StoredFile {
  id: number;
  /** The name the visitor's browser sent (never used as a path). */
  filename: string;
  /** The file's name in the data directory's files/ folder (a UUID). */
  storedAs: string;
  size: number;
  contentType: string;
  uploader: string;
  created: string;
}

export type NewFile = Omit<StoredFile, 'id' | 'created'>;

export interface Store {
  readonly kind: 'sqlite' | 'json';
  /** One line for the page footer. */
  readonly description: string;
  addEntry(name: string, message: string): Promise<Entry>;
  /** The newest first. */
  entries(limit?: number): Promise<Entry[]>;
  addFile(file: NewFile): Promise<StoredFile>;
  /** The newest first. */
  files(): Promise<StoredFile[]>;
  file(id: number): Promise<StoredFile | undefined>;
  close(): Promise<void>;
}

// --- SQLite ------------------------------------------------------------------------------------

// The part of node:sqlite used here. @types/node 20 has no types for the module (the project supports
// Node 20), so they are declared by hand and the import below goes through a variable.
type SqlValue = string | number | bigint | null;
interface SqliteStatement {
  run(...params: SqlValue[]): { lastInsertRowid: number | bigint };
  all(...params: SqlValue[]): unknown[];
  get(...params: SqlValue[]): unknown;
}
interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}
interface SqliteModule {
  DatabaseSync: new (location: string) => SqliteDatabase;
}

/** node:sqlite, or null with the reason it cannot be had. */
export async function loadSqlite(): Promise<{ sqlite: SqliteModule } | { sqlite: null; reason: string }> {
  const specifier = 'node:sqlite';
  try {
    return { sqlite: (await import(specifier)) as SqliteModule };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { sqlite: null, reason: `node:sqlite is not available in Node ${process.version} (${code})` };
  }
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    message TEXT NOT NULL,
    created TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    filename TEXT NOT NULL,
    stored_as TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    uploader TEXT NOT NULL,
    created TEXT NOT NULL
  );`;

interface FileRow {
  id: number;
  filename: string;
  stored_as: string;
  size: number;
  content_type: string;
  uploader: string;
  created: string;
}

function fromRow(r: FileRow): StoredFile {
  return { id: r.id, filename: r.filename, storedAs: r.stored_as, size: r.size, contentType: r.content_type, uploader: r.uploader, created: r.created };
}

// node:sqlite is synchronous; the methods are async so both stores share one interface (and a server
// could swap in an asynchronous database without touching the views).
class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly description: string;
  private readonly db: SqliteDatabase;

  constructor(sqlite: SqliteModule, file: string) {
    this.db = new sqlite.DatabaseSync(file);
    // WAL and a busy timeout: several worker processes can share the database.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;' + SCHEMA);
    this.description = `SQLite through node:sqlite (Node ${process.version}), ${path.basename(file)}`;
  }

  async addEntry(name: string, message: string): Promise<Entry> {
    const created = new Date().toISOString();
    const r = this.db.prepare('INSERT INTO entries (name, message, created) VALUES (?, ?, ?)').run(name, message, created);
    return { id: Number(r.lastInsertRowid), name, message, created };
  }

  async entries(limit = 100): Promise<Entry[]> {
    // Rows come as null-prototype objects: copied into plain ones, the same as the JSON store gives.
    const rows = this.db.prepare('SELECT id, name, message, created FROM entries ORDER BY id DESC LIMIT ?').all(limit) as Entry[];
    return rows.map(({ id, name, message, created }) => ({ id, name, message, created }));
  }

  async addFile(f: NewFile): Promise<StoredFile> {
    const created = new Date().toISOString();
    const r = this.db
      .prepare('INSERT INTO files (filename, stored_as, size, content_type, uploader, created) VALUES (?, ?, ?, ?, ?, ?)')
      .run(f.filename, f.storedAs, f.size, f.contentType, f.uploader, created);
    return { ...f, id: Number(r.lastInsertRowid), created };
  }

  async files(): Promise<StoredFile[]> {
    return (this.db.prepare('SELECT * FROM files ORDER BY id DESC').all() as FileRow[]).map(fromRow);
  }

  async file(id: number): Promise<StoredFile | undefined> {
    const row = this.db.prepare('SELECT * FROM files WHERE id = ?').get(id) as FileRow | undefined;
    return row && fromRow(row);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

// --- JSON file ---------------------------------------------------------------------------------

interface JsonData {
  nextEntryId: number;
  nextFileId: number;
  entries: Entry[];
  files: StoredFile[];
}

class JsonStore implements Store {
  readonly kind = 'json';
  readonly description: string;
  // Every change reads, modifies and rewrites the file; the chain runs them one at a time.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly location: string,
    why: string,
  ) {
    this.description = `a JSON file, ${path.basename(location)} (${why})`;
  }

  private async read(): Promise<JsonData> {
    try {
      return JSON.parse(await readFile(this.location, 'utf8')) as JsonData;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { nextEntryId: 1, nextFileId: 1, entries: [], files: [] };
      throw err;
    }
  }

  private change<T>(fn: (data: JsonData) => T): Promise<T> {
    const run = async () => {
      const data = await this.read();
      const result = fn(data);
      const temp = `${this.location}.${randomUUID()}.tmp`;
      await writeFile(temp, JSON.stringify(data, null, 1));
      await rename(temp, this.location);
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  addEntry(name: string, message: string): Promise<Entry> {
    return this.change((data) => {
      const entry = { id: data.nextEntryId++, name, message, created: new Date().toISOString() };
      data.entries.push(entry);
      return entry;
    });
  }

  async entries(limit = 100): Promise<Entry[]> {
    return (await this.read()).entries.slice(-limit).reverse();
  }

  addFile(f: NewFile): Promise<StoredFile> {
    return this.change((data) => {
      const stored = { ...f, id: data.nextFileId++, created: new Date().toISOString() };
      data.files.push(stored);
      return stored;
    });
  }

  async files(): Promise<StoredFile[]> {
    return (await this.read()).files.slice().reverse();
  }

  async file(id: number): Promise<StoredFile | undefined> {
    return (await this.read()).files.find((f) => f.id === id);
  }

  async close(): Promise<void> {
    await this.queue;
  }
}

/**
 * The store for `dataDir`: SQLite when node:sqlite can be had, else the JSON file. `prefer: 'json'`
 * (GUESTBOOK_STORE=json) takes the JSON file even where SQLite exists.
 */
export async function openStore(dataDir: string, prefer: 'sqlite' | 'json' = 'sqlite'): Promise<Store> {
  if (prefer === 'json') return new JsonStore(path.join(dataDir, 'guestbook.json'), 'GUESTBOOK_STORE=json');
  const found = await loadSqlite();
  if (found.sqlite === null) return new JsonStore(path.join(dataDir, 'guestbook.json'), found.reason);
  return new SqliteStore(found.sqlite, path.join(dataDir, 'guestbook.sqlite'));
}
