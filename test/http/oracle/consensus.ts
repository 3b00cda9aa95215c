// Holds a candidate's recording to the values on which every reference recording agrees.
//
// Per case and per response, the compared values are the environ keys the app printed (CGI keys,
// HTTP_*, wsgi.*; SERVER_SOFTWARE never) and these meta keys:
//   :status     the response's status ('none' when it did not come)
//   :responses  how many responses came on the connection
//   :interim    the interim (1xx) status codes, e.g. '100'
//   :closed     whether the server closed the connection afterwards (only where the references
//               answered every request with the same statuses: a refusal closes for that reason alone)
//   :body       the request body the app read (hex)
// A key a server did not set compares as ABSENT. A (case, response, key) has a consensus when every
// reference produced a value and all are equal; an environ key has none where some reference did not
// answer with the app's dump (a 400, say). A waived case (a deliberate deviation) is not checked.
import type { RecordedCase, Recording } from './client.js';

export const ABSENT = '<absent>';
/** Not comparable: no environ, or a meta key that does not apply. */
type Value = string | null;

const IGNORED = new Set(['SERVER_SOFTWARE']);

class View {
  readonly responses: RecordedCase['responses'];
  constructor(private readonly c: RecordedCase | undefined) {
    this.responses = c?.responses ?? [];
  }

  keys(i: number): string[] {
    const env = this.responses[i]?.environ;
    return env ? Object.keys(env).filter((k) => !IGNORED.has(k)) : [];
  }

  value(i: number, key: string): Value {
    const c = this.c;
    if (c === undefined) return null;
    const r = this.responses[i];
    switch (key) {
      case ':status':
        return r ? String(r.status) : 'none';
      case ':responses':
        return i === 0 ? String(this.responses.length) : null;
      case ':closed':
        if (i !== 0 || c.server_closed === undefined) return null;
        return c.server_closed ? 'closed' : 'open';
      case ':interim':
        if (i !== 0) return null;
        return c.interim.map((s) => s.split(/\s+/)[1] ?? s).join(',') || ABSENT;
    }
    const env = r?.environ;
    if (!env) return null;
    if (key === ':body') return r.body_hex || ABSENT;
    return env[key] ?? ABSENT;
  }
}

type Row = { i: number; key: string; refs: Value[] };

/** Every comparable (response, key) of a case, with each reference's value. */
function rows(refs: Recording[], name: string): Row[] {
  const views = refs.map((r) => new View(r.cases[name]));
  const n = Math.max(1, ...views.map((v) => v.responses.length));
  const statuses = new Set(views.map((v) => Array.from({ length: n }, (_, i) => v.value(i, ':status')).join(' ')));
  const out: Row[] = [];
  for (let i = 0; i < n; i++) {
    const keys = new Set(views.flatMap((v) => v.keys(i)));
    const metas = [':status', ':body', ...(i === 0 ? [':responses', ':interim', ...(statuses.size === 1 ? [':closed'] : [])] : [])];
    for (const key of [...metas, ...[...keys].sort()]) {
      const vals = views.map((v) => v.value(i, key));
      if (key === ':body' && vals.every((v) => v === null)) continue;
      out.push({ i, key, refs: vals });
    }
  }
  return out;
}

/** The value every reference gave, or undefined when they did not all give the same one. */
function consensus(vals: Value[]): string | undefined {
  const first = vals[0];
  return first !== null && first !== undefined && vals.every((v) => v === first) ? first : undefined;
}

export interface Mismatch {
  case: string;
  response: number;
  key: string;
  want: string;
  got: Value;
}

export interface Verdict {
  checked: number;
  waived: number;
  mismatches: Mismatch[];
}

export function checkCandidate(candidate: Recording, refs: Recording[], waivers: ReadonlySet<string>): Verdict {
  const verdict: Verdict = { checked: 0, waived: 0, mismatches: [] };
  for (const [name, c] of Object.entries(candidate.cases)) {
    const view = new View(c);
    const refRows = rows(refs, name);
    const seen = new Set(refRows.map((r) => `${r.i}\0${r.key}`));
    // Keys the candidate set that no reference did: where the references all dumped, they agree on ABSENT.
    const extra: Row[] = [];
    for (let i = 0; i < view.responses.length; i++) {
      for (const key of view.keys(i)) {
        if (!seen.has(`${i}\0${key}`)) extra.push({ i, key, refs: refs.map((r) => new View(r.cases[name]).value(i, key)) });
      }
    }
    for (const { i, key, refs: vals } of [...refRows, ...extra]) {
      const want = consensus(vals);
      if (want === undefined) continue;
      if (waivers.has(name)) {
        verdict.waived++;
        continue;
      }
      verdict.checked++;
      const got = view.value(i, key);
      if (got !== want) verdict.mismatches.push({ case: name, response: i, key, want, got });
    }
  }
  return verdict;
}

/** One line per mismatch, for an assertion message. */
export function describe(m: Mismatch): string {
  const where = m.response === 0 ? m.key : `[${m.response}] ${m.key}`;
  const got = m.got === null ? "no dump (the candidate did not answer with the app's environ)" : JSON.stringify(m.got);
  return `MISMATCH ${m.case} ${where}: want ${JSON.stringify(m.want)} (all references), got ${got}`;
}
