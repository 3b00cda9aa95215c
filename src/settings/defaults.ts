// The settings table's numbers in the units the doors' options take. Settings are written as people
// write them (seconds, MiB); options are milliseconds and bytes, as Node's own timers and buffers are.
// The conversion happens here, once: the doors' defaults (HTTP_DEFAULTS, UWSGI_DEFAULTS,
// FASTCGI_DEFAULTS, serve()'s graceful timeout) are OPTION_DEFAULTS, and the process model turns a
// worker's resolved settings into options with toOptions(), so the library and the CLI cannot drift.
// Like ./table.ts, this imports nothing that does I/O: the doors import it.
import { SETTINGS, type Settings, type Unit } from './table.js';

/** One unit of each setting unit, in the unit of the options. */
const IN_OPTION_UNITS: Readonly<Record<Unit, number>> = { s: 1000, ms: 1, bytes: 1, MiB: 1024 * 1024, count: 1 };

type Row = (typeof SETTINGS)[number];
/** The settings that have a unit: the numbers a door's options take. */
export type MeasuredKey = Extract<Row, { unit: Unit }>['key'];
/** Those settings, each in its option's unit (milliseconds, bytes, a count). */
export type OptionValues = { readonly [K in MeasuredKey]: number };

const MEASURED = SETTINGS.filter((s): s is Extract<Row, { unit: Unit }> => 'unit' in s);

/** The option value of one setting: seconds become milliseconds and MiB bytes, rounded to a whole number. */
export function toOption(key: MeasuredKey, value: number): number {
  const row = MEASURED.find((s) => s.key === key)!;
  return Math.round(value * IN_OPTION_UNITS[row.unit]);
}

/** Every measured setting of `settings` in its option's unit. */
export function toOptions(settings: Pick<Settings, MeasuredKey>): OptionValues {
  const out: Partial<Record<MeasuredKey, number>> = {};
  for (const row of MEASURED) out[row.key] = Math.round(settings[row.key] * IN_OPTION_UNITS[row.unit]);
  return out as OptionValues;
}

/** The table's defaults in option units: every door and serve() default its options to these. */
export const OPTION_DEFAULTS: OptionValues = Object.freeze(
  toOptions(Object.fromEntries(MEASURED.map((s) => [s.key, s.default])) as Pick<Settings, MeasuredKey>),
);
