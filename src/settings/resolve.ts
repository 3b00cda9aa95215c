// Turns the settings table, the environment and the command line into one settings object.
// Precedence: defaults < environment < command line. Every error names the setting it is about.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SETTINGS, type Setting } from './table.js';

export type Settings = Record<string, unknown> & {
  bind: string[];
  serverName: string;
  scriptName: string;
  limitRequestLine: number;
  limitRequestFields: number;
  maxHeaderSize: number;
  headersTimeout: number;
  bodyTimeout: number;
  requestTimeout: number;
  keepAlive: number;
  gracefulTimeout: number;
  logLevel: string;
};

export class SettingError extends Error {
  override name = 'SettingError';
}

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
    const why = setting.validate?.(v as never);
    if (why) throw new SettingError(`${source}: ${JSON.stringify(v)} ${why}`);
  }
}

export function defaults(): Settings {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) out[s.key] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as Settings;
}

/** Settings from environment variables (TSGI_*, and the platform conventions PORT and HOST). */
export function fromEnv(env: Record<string, string | undefined>): Partial<Settings> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const name = s.env.find((n) => env[n] !== undefined && env[n] !== '');
    if (name === undefined) continue;
    const raw = env[name]!;
    const value =
      s.type === 'list' ? raw.split(/[\s,]+/).filter(Boolean) : convert(s, raw, `${name} (setting ${s.flag})`);
    check(s, value, `${name} (setting ${s.flag})`);
    out[s.key] = value;
  }
  if (out.bind === undefined && env.PORT) {
    if (!/^\d+$/.test(env.PORT)) throw new SettingError(`PORT: ${JSON.stringify(env.PORT)} is not a port number`);
    out.bind = [`${env.HOST || '0.0.0.0'}:${env.PORT}`];
  }
  return out as Partial<Settings>;
}

export interface CommandLine {
  settings: Partial<Settings>;
  positionals: string[];
  help: boolean;
  version: boolean;
}

export function parseCommandLine(argv: string[]): CommandLine {
  const options: NonNullable<ParseArgsConfig['options']> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const s of SETTINGS) {
    options[s.flag] = {
      type: s.type === 'boolean' ? 'boolean' : 'string',
      multiple: s.type === 'list',
      ...(s.short ? { short: s.short } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new SettingError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
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

/** defaults < environment < command line. */
export function resolve(cli: Partial<Settings>, env: Record<string, string | undefined>): Settings {
  return { ...defaults(), ...fromEnv(env), ...cli } as Settings;
}

/** --help text, generated from the table. */
export function helpText(): string {
  const lines = [
    'Usage: tsgi MODULE[:EXPORT] [options]',
    '',
    'Serves the TSGI application exported by MODULE (a .ts or .js file; no build step).',
    'EXPORT defaults to `application`, then the default export.',
    '',
  ];
  const sections = [...new Set(SETTINGS.map((s) => s.section))];
  for (const section of sections) {
    lines.push(`${section}:`);
    for (const s of SETTINGS.filter((x) => x.section === section)) {
      const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.flag}${s.type === 'boolean' ? '' : ` ${s.meta ?? 'VALUE'}`}`;
      const def = Array.isArray(s.default) ? s.default.join(' ') : String(s.default);
      lines.push(`  ${flag}`);
      lines.push(`      ${s.help} [default: ${def === '' ? '(none)' : def}; env: ${s.env.join(', ')}]`);
    }
    lines.push('');
  }
  lines.push('Other:', '  -h, --help      Show this help.', '  -v, --version   Show the version.', '');
  return lines.join('\n');
}
