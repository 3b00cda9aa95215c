// A tiny HTML template helper: html`<p>${text}</p>` escapes every interpolated value, except values
// that are already Html (the result of another html`` or of raw()). Nothing from a request can reach
// the page unescaped unless someone writes raw() around it, which is easy to find in review.
import { escapeHtml } from 'tsgi/exceptions';

/** Markup that is safe to insert as is. */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** What a template accepts: text (escaped), numbers, Html, lists of those; null/undefined/false render nothing. */
export type Value = Html | string | number | null | undefined | false | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** The tagged template: the literal parts are trusted markup, the values are escaped. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup, inserted without escaping: never pass it anything a visitor sent. */
export function raw(markup: string): Html {
  return new Html(markup);
}
