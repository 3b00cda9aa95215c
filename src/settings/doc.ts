// docs/settings.md, generated from the settings table (scripts/gen-settings-doc.mjs writes it; a test
// fails when the page and the table drift apart).
import { SETTINGS, type Setting } from './table.js';

const TABLE: readonly Setting[] = SETTINGS;

function def(s: Setting): string {
  if (Array.isArray(s.default)) return s.default.length ? s.default.map((d) => `\`${d}\``).join(' ') : '(none)';
  if (s.default === '') return '(none)';
  return `\`${String(s.default)}\``;
}

const UNIT_NAMES = { s: 'seconds', ms: 'milliseconds', bytes: 'bytes', MiB: 'MiB', count: '' } as const;

function typeName(s: Setting): string {
  if (s.choices) return `one of ${s.choices.map((c) => `\`${c}\``).join(', ')}`;
  const base = { string: 'string', int: 'whole number', number: 'number', boolean: 'true/false', list: 'list of strings (repeat the flag)' }[s.type];
  const unit = s.unit ? UNIT_NAMES[s.unit] : '';
  return unit ? `${base} of ${unit}` : base;
}

export function renderSettingsDoc(): string {
  const out: string[] = [
    '# Settings',
    '',
    '<!-- Generated from src/settings/table.ts by `node --import tsx scripts/gen-settings-doc.mjs`; do not edit by hand. -->',
    '',
    'Every setting can be given four ways. Later ones win:',
    '',
    '1. the default below;',
    '2. the config file: `tsgi.config.ts`, `.mts`, `.cts`, `.js`, `.mjs`, `.cjs` or `.json` in the working directory, or the file named by',
    '   `--config`/`TSGI_CONFIG`. Keys are the camelCase names below (the flag spelling is accepted too):',
    '',
    '   ```ts',
    "   import { defineConfig } from 'tsgi/settings';",
    "   export default defineConfig({ workers: 4, bind: ['0.0.0.0:8000'], maxRequests: 1000 });",
    '   ```',
    '',
    '3. the environment: the `TSGI_*` variable of each setting, and the platform conventions `PORT` (with `HOST`,',
    '   default `0.0.0.0`) for the bind, `WEB_CONCURRENCY` for workers and `FORWARDED_ALLOW_IPS`;',
    '4. the command line.',
    '',
    '`tsgi --print-config` shows the value of every setting and where it came from; `tsgi app.ts --check-config`',
    'checks the settings and loads the application, then exits. An invalid value stops tsgi with a message that',
    'names the setting, where the value came from, and the allowed values.',
    '',
  ];
  const sections = [...new Set(TABLE.map((s) => s.section))];
  for (const section of sections) {
    out.push(`## ${section}`, '');
    for (const s of TABLE.filter((x) => x.section === section)) {
      const flags = `${s.short ? `\`-${s.short}\`, ` : ''}\`--${s.flag}${s.type === 'boolean' ? '' : ` ${s.meta ?? 'VALUE'}`}\``;
      out.push(`### ${s.flag}`, '');
      out.push(`| | |`, `|---|---|`);
      out.push(`| flag | ${flags} |`);
      if (!s.cliOnly) out.push(`| config key | \`${s.key}\` |`);
      out.push(`| environment | ${s.env.length ? s.env.map((e) => `\`${e}\``).join(', ') : '(command line only)'} |`);
      out.push(`| type | ${typeName(s)} |`);
      out.push(`| default | ${def(s)} |`, '');
      out.push(s.help, '');
    }
  }
  return out.join('\n');
}
