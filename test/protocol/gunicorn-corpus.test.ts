// gunicorn's request-parsing corpus (test/fixtures/gunicorn-requests: 63 valid and 74 invalid raw
// requests with gunicorn's expected parse) against both HTTP engines, over real sockets: every case
// whole and cut at seeded random points, to a server on each engine (both run here, whatever
// TSGI_ENGINE says) that dumps its environ and body.
//   - a valid case parses as gunicorn expects: method, path, query, version, headers, body, for every
//     pipelined request (an HTTP/1.1 request without Host gets one added: tsgi's 400 there is right);
//   - an invalid case is refused: a 4xx or 5xx, and the connection closes;
//   - except the cases in test/fixtures/gunicorn-differences.json, each with the outcome on each engine
//     and the reason (an RFC rule, or a gunicorn-only setting); docs/http-conformance.md shows the same
//     table, and the last test holds the two together.
// The servers run with gunicorn's default limits in tsgi's terms; a case whose cfg sets a limit gets
// a server with that limit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServeOptions, ServerHandle } from '../../src/http/serve.js';
import { ENGINES, startBoth, talk, type Dump, type EngineName, type Outcome } from '../helpers/dump.js';
import { gunicornEnviron, loadCorpus, type Case } from '../helpers/gunicorn.js';
import { describeSplit, type Split } from '../http/raw-client.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

interface Difference {
  gunicorn: string;
  net: string;
  node: string;
  why: string;
}
const DIFFERENCES = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'gunicorn-differences.json'), 'utf8')) as Record<string, Difference>;

/** gunicorn's defaults (limit_request_line 4094, limit_request_fields 100, limit_request_field_size 8190) as tsgi options. */
const GUNICORN_LIMITS: ServeOptions = { limitRequestLine: 4094, limitRequestFields: 100, maxHeaderSize: 8190 };

/** The tsgi options for a case's gunicorn cfg: the limits map; the other settings have no tsgi equivalent. */
function optionsFor(cfg: Record<string, unknown>): ServeOptions {
  // Short timeouts: a case whose head or body is cut short (gunicorn reads it to EOF) gets its 408 soon.
  const o: ServeOptions = { ...GUNICORN_LIMITS, headersTimeout: 1000, bodyTimeout: 1000 };
  const n = (k: string) => (typeof cfg[k] === 'number' ? (cfg[k] as number) : undefined);
  if (n('limit_request_line') !== undefined) o.limitRequestLine = n('limit_request_line') || 8190;
  if (n('limit_request_fields') !== undefined) o.limitRequestFields = n('limit_request_fields') || 32768;
  // gunicorn limits each field; tsgi (like llhttp) the target, names and values together.
  if (n('limit_request_field_size') !== undefined) o.maxHeaderSize = n('limit_request_field_size') || 8190;
  return o;
}

/** What happened to a case on one engine, in the words of the differences table. */
function result(c: Case, o: Outcome): string {
  const first = o.responses[0];
  if (c.kind === 'invalid') {
    if (first === undefined) return o.closed ? 'closed without an answer' : 'no answer, left open';
    if (first.status >= 400) return o.closed ? 'refused' : `answered ${first.status}, left open`;
    return 'parsed';
  }
  for (let i = 0; i < c.requests.length; i++) {
    const r = o.responses[i];
    if (r === undefined) return i === 0 && o.closed ? 'closed without an answer' : `request ${i + 1} not answered`;
    if (r.status !== 200) return `refused ${r.status}`;
    const got = JSON.parse(r.body.toString('utf8')) as Dump;
    const want = gunicornEnviron(c.requests[i]!);
    for (const k of new Set([...Object.keys(want), ...Object.keys(got.env)].sort())) {
      if (got.env[k] !== want[k]) return `${k} ${JSON.stringify(got.env[k] ?? null)}`;
    }
    if (got.body !== c.requests[i]!.body_latin1) return `body ${JSON.stringify(got.body.slice(0, 40))}`;
  }
  return 'parsed';
}

function splitsFor(c: Case): Split[] {
  let seed = 0;
  for (const ch of c.id) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  return [{ kind: 'whole' }, { kind: 'random', seed, max: 9 }, { kind: 'random', seed: seed ^ 0x5eed, max: 300 }];
}

const CASES = loadCorpus();

describe('gunicorn request corpus on both engines', () => {
  const servers = new Map<string, Promise<Record<EngineName, ServerHandle>>>();
  const serversFor = (c: Case) => {
    const o = optionsFor(c.cfg);
    const key = JSON.stringify(o);
    if (!servers.has(key)) servers.set(key, startBoth(o));
    return servers.get(key)!;
  };
  before(() => void serversFor(CASES[0]!));
  after(async () => {
    for (const s of servers.values()) for (const h of Object.values(await s)) await h.close();
  });

  it('holds 63 valid and 74 invalid cases', () => {
    assert.equal(CASES.filter((c) => c.kind === 'valid').length, 63);
    assert.equal(CASES.filter((c) => c.kind === 'invalid').length, 74);
  });

  for (const c of CASES) {
    const diff = DIFFERENCES[c.id];
    const normal = c.kind === 'valid' ? 'parsed' : 'refused';
    it(`${c.id}${diff ? ` (differs: ${diff.why.split(':')[0]})` : ''}`, { timeout: 60_000 }, async () => {
      const both = await serversFor(c);
      for (const engine of ENGINES) {
        const want = diff?.[engine] ?? normal;
        for (const split of splitsFor(c)) {
          const o = await talk(both[engine].port, c.bytes, {
            split,
            responses: Math.max(1, c.requests.length),
            // A refusal closes at once; wait a little for a close after an answer that should have been one.
            graceMs: c.kind === 'invalid' ? 300 : 0,
          });
          assert.equal(result(c, o), want, `${c.id} on ${engine} [${describeSplit(split)}]`);
        }
      }
    });
  }

  it('lists no difference for a case that is not in the corpus', () => {
    const ids = new Set(CASES.map((c) => c.id));
    assert.deepEqual(
      Object.keys(DIFFERENCES).filter((id) => !ids.has(id)),
      [],
    );
  });
});

describe('docs/http-conformance.md', () => {
  it('tables exactly the differences the corpus test allows', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'http-conformance.md'), 'utf8');
    const rows = new Map<string, string[]>();
    for (const line of doc.split('\n')) {
      const m = /^\| `((?:valid|invalid)\/[^`]+)` \|(.*)\|$/.exec(line);
      if (m !== null)
        rows.set(
          m[1]!,
          m[2]!.split('|').map((s) => s.trim().replace(/^`|`$/g, '')),
        );
    }
    assert.deepEqual([...rows.keys()].sort(), Object.keys(DIFFERENCES).sort(), 'the same cases');
    for (const [id, d] of Object.entries(DIFFERENCES)) {
      const [gunicorn, net, node] = rows.get(id)!;
      assert.deepEqual([gunicorn, net, node], [d.gunicorn, d.net, d.node], id);
    }
  });
});
