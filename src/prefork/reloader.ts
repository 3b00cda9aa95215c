// --reload: watches the working directory with native file events (fs.watch on each directory,
// never polling), skipping node_modules, .git and other dot-directories, and calls `onChange` once
// per burst of changes (debounced) to matching files.
import type { FSWatcher } from 'node:fs';
import path from 'node:path';
import { matcher } from './glob.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { watch, readdirSync, statSync } = process.getBuiltinModule('node:fs');

const SKIP = new Set(['node_modules', '.git']);

export interface Reloader {
  close(): void;
}

export function watchFiles(root: string, include: string[], exclude: string[], onChange: (files: string[]) => void, debounceMs = 150): Reloader {
  const matches = matcher(include, exclude);
  const watchers = new Map<string, FSWatcher>();
  let pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = () => {
    timer = undefined;
    const files = [...pending];
    pending = new Set();
    if (files.length) onChange(files);
  };
  const addDir = (dir: string) => {
    if (watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (_event, name) => {
        if (!name) return;
        const full = path.join(dir, name.toString());
        let isDir = false;
        try {
          isDir = statSync(full).isDirectory();
        } catch {
          /* deleted */
        }
        if (isDir) {
          if (!SKIP.has(path.basename(full)) && !path.basename(full).startsWith('.')) scan(full);
          return;
        }
        const rel = path.relative(root, full).split(path.sep).join('/');
        if (!matches(rel)) return;
        pending.add(rel);
        clearTimeout(timer);
        timer = setTimeout(fire, debounceMs);
      });
    } catch {
      return;
    }
    w.on('error', () => {
      w.close();
      watchers.delete(dir);
    });
    watchers.set(dir, w);
  };
  const scan = (dir: string) => {
    addDir(dir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.')) scan(path.join(dir, e.name));
    }
  };
  scan(root);
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
