// Turns the settings table, a config file, the environment and the command line into one settings
// object. Precedence: defaults < config file < environment < command line. Every error names the
// setting it is about (and the allowed values when there is a list of them).
import path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { SETTINGS, type ConfigFile, type Setting, type Settings } from './table.js';
import { TsgiError } from '../errors.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { existsSync, readFileSync } = process.getBuiltinModule('node:fs');
const { parseArgs } = process.getBuiltinModule('node:util');

export type { Settings, ConfigFile };

/** A bad value, an unknown setting, or a config file that cannot be read (TSGI_ERR_SETTING). */
export class SettingError extends TsgiError {
  override name = 'SettingError';
  constructor(message: string) {
    super('TSGI_ERR_SETTING', message);
  }
}

const TABLE: readonly Setting[] = SETTINGS;
const BY_KEY = new Map(TABLE.map((s) => [s.key, s]));
const BY_FLAG = new Map(TABLE.map((s) => [s.flag, s]));

function convert(setting: Setting, raw: string, source: string): unknown {
  const fail = (why: string): never => {
    throw new SettingError(`${source}: ${JSON.stringify(raw)} ${why}`);
  };
  switch (setting.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) fail('is not a whole number');
      return Number(raw);
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) fail('is not a number');
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      return fail('is not true or false');
    }
    case 'list':
      return [raw];
    default:
      return raw;
  }
}

function check(setting: Setting, value: unknown, source: string): void {
  const values = setting.type === 'list' ? (value as unknown[]) : [value];
  for (const v of values) {
    const why = setting.choices
      ? setting.choices.includes(v as string)
        ? undefined
        : `must be one of ${setting.choices.join(', ')}`
      : setting.validate?.(v as never);
    if (why) throw new SettingError(`${source}: ${JSON.stringify(v)} ${why}`);
  }
}

export function defaults(): Settings {
  const out: Record<string, unknown> = {};
  for (const s of TABLE) out[s.key] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as Settings;
}

/** Where each value came from, for --print-config. */
export type Source = 'default' | 'config' | 'env' | 'cli';

/** Settings from environment variables (TSGI_*, and the platform conventions PORT, HOST, WEB_CONCURRENCY, FORWARDED_ALLOW_IPS). */
export function fromEnv(env: Record<string, string | undefined>, names?: Map<string, string>): Partial<Settings> {
  const out: Record<string, unknown> = {};
  for (const s of TABLE) {
    const name = s.env.find((n) => env[n] !== undefined && env[n] !== '');
    if (name === undefined) continue;
    const raw = env[name]!;
    const source = `${name} (setting ${s.flag})`;
    const value = s.type === 'list' ? raw.split(/[\s,]+/).filter(Boolean) : convert(s, raw, source);
    check(s, value, source);
    out[s.key] = value;
    names?.set(s.key, name);
  }
  if (out.bind === undefined && env.PORT) {
    if (!/^\d+$/.test(env.PORT) || Number(env.PORT) > 65535) {
      throw new SettingError(`PORT: ${JSON.stringify(env.PORT)} is not a port number (setting bind)`);
    }
    out.bind = [`${env.HOST || '0.0.0.0'}:${env.PORT}`];
    names?.set('bind', env.HOST ? 'PORT, HOST' : 'PORT');
  }
  return out as Partial<Settings>;
}

export interface CommandLine {
  settings: Partial<Settings>;
  positionals: string[];
  help: boolean;
  version: boolean;
}

export function parseArgsOptions(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const s of TABLE) {
    options[s.flag] = {
      type: s.type === 'boolean' ? 'boolean' : 'string',
      multiple: s.type === 'list',
      ...(s.short ? { short: s.short } : {}),
    };
  }
  return options;
}

/** Flags other servers take that tsgi spells differently: what to write instead. */
const HABITS: Record<string, string> = {
  '--port': 'tsgi listens where --bind says: --bind 0.0.0.0:3000 (or set PORT=3000)',
  '--host': 'tsgi listens where --bind says: --bind 127.0.0.1:8000 (HOST:PORT; or set HOST and PORT)',
  '-P': 'tsgi listens where --bind says: --bind 0.0.0.0:3000 (or set PORT=3000)',
  '--socket': 'a uwsgi socket is --bind uwsgi://HOST:PORT (or uwsgi://unix:PATH)',
  '--http': 'an HTTP socket is --bind HOST:PORT',
  '--processes': 'the number of worker processes is --workers N (-w N)',
  '--threads': 'tsgi runs one event loop per worker: scale with --workers N',
};

/** node:util parseArgs' message for an unknown flag, with what the user probably meant. */
function explainArgsError(message: string): string {
  const m = /^Unknown option '(-{1,2}[^'=]+)'/.exec(message);
  if (!m) return message;
  const flag = m[1]!;
  const habit = HABITS[flag];
  if (habit) return `unknown option ${flag}: ${habit}`;
  const bare = flag.replace(/^-+/, '');
  const near = TABLE.map((x) => x.flag).filter((f) => editDistance(f, bare) <= 2 || (bare.length > 3 && f.includes(bare)));
  return `unknown option ${flag}${near.length ? ` (did you mean ${near.map((f) => `--${f}`).join(', ')}?)` : ''}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function parseCommandLine(argv: string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: parseArgsOptions(), allowPositionals: true, strict: true });
  } catch (err) {
    throw new SettingError(explainArgsError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, '')));
  }
  const out: Record<string, unknown> = {};
  for (const s of TABLE) {
    const raw = parsed.values[s.flag];
    if (raw === undefined) continue;
    const source = `--${s.flag}`;
    let value: unknown;
    if (s.type === 'list') value = (raw as string[]).flatMap((r) => convert(s, r, source) as string[]);
    else if (s.type === 'boolean') value = raw;
    else value = convert(s, raw as string, source);
    check(s, value, source);
    out[s.key] = value;
  }
  return {
    settings: out as Partial<Settings>,
    positionals: parsed.positionals,
    help: parsed.values.help === true,
    version: parsed.values.version === true,
  };
}

/** Typed identity for `tsgi.config.ts`: `export default defineConfig({ workers: 4 })`. */
export function defineConfig(config: ConfigFile): ConfigFile {
  return config;
}

export const CONFIG_NAMES = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs', 'json'].map((x) => `tsgi.config.${x}`);

/** The config file to read: the one named, else the first tsgi.config.* in `cwd`, else none. */
export function findConfigFile(named: string, cwd: string): string | null {
  if (named) {
    const full = path.resolve(cwd, named);
    if (!existsSync(full)) throw new SettingError(`--config (setting config): ${JSON.stringify(named)} does not exist (looked at ${full})`);
    return full;
  }
  for (const name of CONFIG_NAMES) {
    const full = path.join(cwd, name);
    if (existsSync(full)) return full;
  }
  return null;
}

/** Reads a config file into raw values (checked by `fromConfig`). A fresh import each call (for SIGHUP). */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const name = path.basename(file);
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new SettingError(`${name}: not valid JSON: ${(err as Error).message}`);
    }
  }
  let mod: Record<string, unknown>;
  try {
    // The query defeats the module cache, so a reload reads the file as it is now. The loader (tsx when
    // TypeScript needs it) is imported only when there is a config file to load.
    const { exportsOf, importModule } = await import('./import-module.js');
    // The whole of 'tsgi/settings' evaluated first: a CommonJS config's require('tsgi/settings') (Node
    // 22's require of an ES module) fails with "module not been linked" when it meets that graph half
    // loaded, as it did once the CLI stopped importing all of it up front.
    await import('./index.js');
    mod = exportsOf(await importModule(file, `t=${Date.now()}`));
  } catch (err) {
    throw new SettingError(`${name}: failed to load: ${(err as Error).message}`);
  }
  let value = mod.default ?? mod.config;
  if (typeof value === 'function') value = await (value as () => unknown)();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SettingError(`${name}: the default export must be an object of settings (use defineConfig({ ... }))`);
  }
  return value as Record<string, unknown>;
}

/** Checks a config file's values against the table. Keys may be spelled as in TypeScript (maxRequests) or as flags (max-requests). */
export function fromConfig(raw: Record<string, unknown>, fileName: string): Partial<Settings> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const s = BY_KEY.get(name) ?? BY_FLAG.get(name);
    const where = `${fileName}: ${name}`;
    if (!s || s.cliOnly || s.key === 'config') {
      const near = TABLE.filter(
        (t) =>
          !t.cliOnly &&
          t.key.toLowerCase().includes(
            name
              .toLowerCase()
              .replace(/[^a-z]/g, '')
              .slice(0, 4),
          ),
      )
        .map((t) => t.key)
        .slice(0, 5);
      throw new SettingError(`${where}: unknown setting${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; see tsgi --help`);
    }
    let v: unknown = value;
    const bad = (why: string): never => {
      throw new SettingError(`${where} (setting ${s.flag}): ${JSON.stringify(value)} ${why}`);
    };
    switch (s.type) {
      case 'int':
        if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) v = Number(v);
        if (typeof v !== 'number' || !Number.isInteger(v)) bad('is not a whole number');
        break;
      case 'number':
        if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) v = Number(v);
        if (typeof v !== 'number' || !Number.isFinite(v)) bad('is not a number');
        break;
      case 'boolean':
        if (typeof v !== 'boolean') bad('is not true or false');
        break;
      case 'list':
        if (typeof v === 'string') v = [v];
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad('is not a list of strings');
        break;
      default:
        if (typeof v === 'number') v = String(v);
        if (typeof v !== 'string') bad('is not a string');
    }
    check(s, v, `${where} (setting ${s.flag})`);
    out[s.key] = v;
  }
  return out as Partial<Settings>;
}

export interface Resolved {
  settings: Settings;
  /** Where each setting's value came from. */
  sources: Record<string, string>;
  /** The config file read, if any. */
  configFile: string | null;
}

/** defaults < config file < environment < command line, remembering where each value came from. */
export async function resolveAll(cli: Partial<Settings>, env: Record<string, string | undefined>, cwd = process.cwd()): Promise<Resolved> {
  const envNames = new Map<string, string>();
  const fromEnvironment = fromEnv(env, envNames);
  const named = (cli.config as string | undefined) ?? (fromEnvironment.config as string | undefined) ?? '';
  const configFile = findConfigFile(named, cwd);
  const fromFile = configFile ? fromConfig(await readConfigFile(configFile), path.basename(configFile)) : {};
  const settings = { ...defaults(), ...fromFile, ...fromEnvironment, ...cli } as Settings;
  if (configFile) settings.config = configFile;
  const sources: Record<string, string> = {};
  for (const s of TABLE) {
    if (s.key in cli) sources[s.key] = `--${s.flag}`;
    else if (s.key in fromEnvironment) sources[s.key] = envNames.get(s.key) ?? 'environment';
    else if (s.key in fromFile) sources[s.key] = path.basename(configFile!);
    else sources[s.key] = 'default';
  }
  return { settings, sources, configFile };
}

/** defaults < environment < command line (no config file). */
export function resolve(cli: Partial<Settings>, env: Record<string, string | undefined>): Settings {
  return { ...defaults(), ...fromEnv(env), ...cli } as Settings;
}

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length ? value.map((v) => JSON.stringify(v)).join(' ') : '(none)';
  if (value === '') return '(none)';
  return String(value);
}

/** --print-config: one `key = value  # source` line per setting. */
export function printConfig({ settings, sources }: Resolved): string {
  const rows = TABLE.filter((s) => !s.cliOnly).map((s) => [s.flag, show((settings as Record<string, unknown>)[s.key]), sources[s.key] ?? 'default']);
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.min(60, Math.max(...rows.map((r) => r[1]!.length)));
  return rows.map(([k, v, src]) => `${k!.padEnd(w0)} = ${v!.padEnd(w1)}  # ${src}`).join('\n') + '\n';
}

/** --help text, generated from the table, wrapped to `width` columns (the terminal's, else 80). */
export function helpText(width = process.stdout.columns || 80): string {
  const cols = Math.max(60, Math.min(width, 120));
  const lines = [
    'Usage: tsgi MODULE[:EXPORT] [options]',
    '',
    ...wrap(
      'Serves the TSGI application exported by MODULE (a .ts or .js file; no build step) from a master process and --workers ' +
        'worker processes. EXPORT defaults to `application`, then the default export. Signals to the master: TERM graceful stop, ' +
        'INT/QUIT quick stop, HUP reload (new workers first), TTIN/TTOU one worker more/less, USR1 reopen log files.',
      cols,
      '',
    ),
    '',
  ];
  const sections = [...new Set(TABLE.map((s) => s.section))];
  for (const section of sections) {
    lines.push(`${section}:`);
    for (const s of TABLE.filter((x) => x.section === section)) {
      const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.flag}${s.type === 'boolean' ? '' : ` ${s.meta ?? 'VALUE'}`}`;
      const def = Array.isArray(s.default) ? s.default.join(' ') : String(s.default);
      const env = s.env.length ? `; env: ${s.env.join(', ')}` : '';
      lines.push(`  ${flag}`);
      lines.push(...wrap(`${s.help} [default: ${def === '' ? '(none)' : def}${env}]`, cols, '      '));
    }
    lines.push('');
  }
  lines.push('Other:', '  -h, --help      Show this help.', '  -v, --version   Show the version.', '');
  return lines.join('\n');
}

/** Greedy word wrap; a word longer than the line stands alone on its line. */
function wrap(text: string, cols: number, indent: string): string[] {
  const out: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length > indent.length && line.length + 1 + word.length > cols) {
      out.push(line);
      line = indent;
    }
    line += (line.length > indent.length ? ' ' : '') + word;
  }
  if (line.length > indent.length) out.push(line);
  return out;
}
