// Every built-in converter through a map, as requests meet it: what matches, what does not (404), the
// value it gives, and what it builds; converter arguments; custom converters registered by name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFound } from '../../src/exceptions/index.js';
import { BaseConverter, RouteMap, Rule, ValidationError, parseConverterArgs, type ConverterArg } from '../../src/routing/index.js';

/** A map with one rule, bound to example.com: match(path) → the value of `v`, or 'NotFound'. */
function one(rule: string, options: ConstructorParameters<typeof RouteMap>[1] = {}) {
  const adapter = new RouteMap([new Rule(rule, { endpoint: 'e' })], options).bind('example.com');
  return {
    match(path: string): unknown {
      try {
        return adapter.match(path).args['v'];
      } catch (err) {
        if (err instanceof NotFound) return 'NotFound';
        throw err;
      }
    },
    build: (v: unknown) => adapter.build('e', { v }),
  };
}

describe('string (default)', () => {
  const r = one('/s/<v>');
  it('matches one non-empty segment as text', () => {
    assert.equal(r.match('/s/abc'), 'abc');
    assert.equal(r.match('/s/caf\u00e9 x'), 'caf\u00e9 x');
    assert.equal(r.match('/s/'), 'NotFound');
    assert.equal(r.match('/s/a/b'), 'NotFound');
  });
  it('builds percent-encoded UTF-8, a / as %2F', () => {
    assert.equal(r.build('a b'), '/s/a%20b');
    assert.equal(r.build('caf\u00e9'), '/s/caf%C3%A9');
    assert.equal(r.build('a/b'), '/s/a%2Fb');
    assert.equal(r.build('50%?#'), '/s/50%25%3F%23');
    assert.equal(r.build("!$&'()*+,;=:@"), "/s/!$&'()*+,;=:@");
  });
  it('takes length, minlength and maxlength', () => {
    const cc = one('/c/<string(length=2):v>');
    assert.equal(cc.match('/c/fr'), 'fr');
    assert.equal(cc.match('/c/f'), 'NotFound');
    assert.equal(cc.match('/c/fra'), 'NotFound');
    assert.throws(() => cc.build('fra'), /Could not build/);
    const b = one('/b/<string(minlength=2, maxlength=3):v>');
    assert.deepEqual(['/b/a', '/b/ab', '/b/abc', '/b/abcd'].map(b.match), ['NotFound', 'ab', 'abc', 'NotFound']);
  });
});

describe('int', () => {
  const r = one('/i/<int:v>');
  it('matches digits as a number', () => {
    assert.equal(r.match('/i/42'), 42);
    assert.equal(r.match('/i/0'), 0);
  });
  it('does not match a sign, a fraction, letters or an empty part', () => {
    for (const p of ['/i/-1', '/i/+1', '/i/1.5', '/i/1e3', '/i/abc', '/i/', '/i/ 1', '/i/\u0661']) assert.equal(r.match(p), 'NotFound', p);
  });
  it('reads leading zeros as the number (as Werkzeug) and builds without them', () => {
    assert.equal(r.match('/i/007'), 7);
    assert.equal(r.build(7), '/i/7');
  });
  it('does not match integers a number cannot hold exactly', () => {
    assert.equal(r.match('/i/9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(r.match('/i/9007199254740993'), 'NotFound');
    assert.equal(r.match('/i/99999999999999999999999'), 'NotFound');
  });
  it('signed=True matches negatives', () => {
    const s = one('/i/<int(signed=True):v>');
    assert.equal(s.match('/i/-5'), -5);
    assert.equal(s.match('/i/-0'), 0);
    assert.equal(s.build(-5), '/i/-5');
    assert.throws(() => r.build(-5), /Could not build/);
  });
  it('min, max and fixed_digits', () => {
    const b = one('/i/<int(min=1, max=10):v>');
    assert.deepEqual(['/i/0', '/i/1', '/i/10', '/i/11'].map(b.match), ['NotFound', 1, 10, 'NotFound']);
    assert.throws(() => b.build(11), /Could not build/);
    const f = one('/y/<int(fixed_digits=4):v>');
    assert.deepEqual(['/y/2024', '/y/0042', '/y/42', '/y/12345'].map(f.match), [2024, 42, 'NotFound', 'NotFound']);
    assert.equal(f.build(42), '/y/0042');
  });
  it('builds from a numeric string, never from a non-integer', () => {
    assert.equal(r.build('12'), '/i/12');
    for (const bad of [1.5, NaN, Infinity, 'x', null]) assert.throws(() => r.build(bad), /Could not build/, String(bad));
  });
});

describe('float', () => {
  const r = one('/f/<float:v>');
  it('needs digits on both sides of a dot', () => {
    assert.equal(r.match('/f/1.5'), 1.5);
    assert.equal(r.match('/f/0.0'), 0);
    for (const p of ['/f/1', '/f/.5', '/f/1.', '/f/-1.5', '/f/1e5', '/f/NaN', '/f/Infinity']) assert.equal(r.match(p), 'NotFound', p);
  });
  it('builds with a dot and never in exponent notation', () => {
    assert.equal(r.build(2), '/f/2.0');
    assert.equal(r.build(0.1), '/f/0.1');
    assert.equal(r.build(1e-7), '/f/0.0000001');
    assert.equal(r.build(5e-324), `/f/0.${'0'.repeat(323)}5`);
    assert.equal(r.match(r.build(5e-324)), 5e-324);
    assert.equal(r.match(r.build(1e-7)), 1e-7);
    assert.equal(r.build(123456789012345680000), '/f/123456789012345680000.0');
    assert.equal(r.build(1.5e21), '/f/1500000000000000000000.0');
    assert.throws(() => r.build(Infinity), /Could not build/);
    assert.throws(() => r.build(-1.5), /Could not build/);
  });
  it('signed=True, min and max', () => {
    const s = one('/f/<float(signed=True, min=-2.5, max=2.5):v>');
    assert.deepEqual(['/f/-2.5', '/f/-2.6', '/f/2.5', '/f/3.0'].map(s.match), [-2.5, 'NotFound', 2.5, 'NotFound']);
  });
});

describe('path', () => {
  const r = one('/p/<path:v>');
  it('matches across slashes, not an empty path or one starting with /', () => {
    assert.equal(r.match('/p/a'), 'a');
    assert.equal(r.match('/p/a/b/c.txt'), 'a/b/c.txt');
    assert.equal(r.match('/p/a/b/'), 'a/b/');
    assert.equal(r.match('/p/'), 'NotFound');
    assert.equal(r.match('/p//etc'), 'NotFound');
  });
  it('builds with its slashes kept and everything else escaped', () => {
    assert.equal(r.build('a b/c\u00e9/d?e'), '/p/a%20b/c%C3%A9/d%3Fe');
    assert.throws(() => r.build('/abs'), /Could not build/);
  });
  it('sits in the middle of a rule', () => {
    const m = new RouteMap([new Rule('/p/<path:v>/edit', { endpoint: 'e' })]).bind('x');
    assert.deepEqual(m.match('/p/a/b/edit').args, { v: 'a/b' });
  });
});

describe('uuid', () => {
  const r = one('/u/<uuid:v>');
  const id = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
  it('matches the 8-4-4-4-12 form in either case, lower-cased', () => {
    assert.equal(r.match(`/u/${id}`), id);
    assert.equal(r.match(`/u/${id.toUpperCase()}`), id);
    for (const p of [`/u/${id.replace(/-/g, '')}`, `/u/${id}0`, `/u/{${id}}`, `/u/${id.replace('3f', 'zz')}`]) assert.equal(r.match(p), 'NotFound', p);
  });
  it('builds lower-case, refuses what is not a UUID', () => {
    assert.equal(r.build(id.toUpperCase()), `/u/${id}`);
    assert.throws(() => r.build('nope'), /Could not build/);
  });
});

describe('any', () => {
  const r = one('/a/<any(about, help, "x y"):v>');
  it('matches one of the listed words only', () => {
    assert.equal(r.match('/a/about'), 'about');
    assert.equal(r.match('/a/help'), 'help');
    assert.equal(r.match('/a/x y'), 'x y');
    assert.equal(r.match('/a/abou'), 'NotFound');
    assert.equal(r.match('/a/helper'), 'NotFound');
  });
  it('prefers the longest word', () => {
    assert.equal(one('/a/<any(a, ab):v>').match('/a/ab'), 'ab');
  });
  it('builds the words only', () => {
    assert.equal(r.build('x y'), '/a/x%20y');
    assert.throws(() => r.build('other'), /Could not build/);
  });
});

describe('encoded slashes', () => {
  it('a %2F arrives decoded in PATH_INFO, so only path matches it (WSGI cannot tell / from %2F)', () => {
    const m = new RouteMap([new Rule('/s/<v>', { endpoint: 's' }), new Rule('/p/<path:v>', { endpoint: 'p' })]);
    // What the door makes of GET /s/a%2Fb and /p/a%2Fb: PATH_INFO is percent-decoded.
    const environ = (path: string) => ({
      PATH_INFO: path,
      SCRIPT_NAME: '',
      REQUEST_METHOD: 'GET',
      SERVER_NAME: 'x',
      SERVER_PORT: '80',
      'wsgi.url_scheme': 'http',
    });
    assert.throws(() => m.bindToEnviron(environ('/s/a/b') as never).match(), NotFound);
    assert.deepEqual(m.bindToEnviron(environ('/p/a/b') as never).match().args, { v: 'a/b' });
  });
});

describe('converter arguments', () => {
  it('parses Python literals as Werkzeug does', () => {
    assert.deepEqual(parseConverterArgs('a, "b c", 3, -4.5, True, False, None, k=1, s=\'x\''), {
      args: ['a', 'b c', 3, -4.5, true, false, null],
      kwargs: { k: 1, s: 'x' },
    });
    assert.deepEqual(parseConverterArgs(''), { args: [], kwargs: {} });
    assert.throws(() => parseConverterArgs('a=1, b'), SyntaxError);
    assert.throws(() => parseConverterArgs('a b'), SyntaxError);
  });
  it('rejects unknown converters, bad arguments and malformed variables when the rule is added', () => {
    assert.throws(() => new RouteMap([new Rule('/<nope:x>', { endpoint: 'e' })]), /no converter named "nope"/);
    assert.throws(() => new RouteMap([new Rule('/<int(fixed_digits="a"):x>', { endpoint: 'e' })]), TypeError);
    assert.throws(() => new RouteMap([new Rule('/<x>/<x>', { endpoint: 'e' })]), /appears twice/);
    assert.throws(() => new RouteMap([new Rule('/<x', { endpoint: 'e' })]), SyntaxError);
    assert.throws(() => new Rule('no-slash', { endpoint: 'e' }), TypeError);
  });
});

describe('custom converters', () => {
  /** Hex numbers: `<hex:n>` matches `ff`, gives 255, builds 255 as `ff`. */
  class HexConverter extends BaseConverter {
    override regex = '[0-9a-f]+';
    override toValue(text: string): number {
      return parseInt(text, 16);
    }
    override toUrl(value: unknown): string {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ValidationError();
      return value.toString(16);
    }
  }
  /** A list: `<list(sep=";"):xs>` gives the parts as an array; takes its argument from the rule. */
  class ListConverter extends BaseConverter {
    readonly sep: string;
    constructor(map: unknown, args: ConverterArg[], kwargs: Record<string, ConverterArg>) {
      super(map, args, kwargs);
      this.sep = String(kwargs['sep'] ?? ',');
    }
    override toValue(text: string): string[] {
      return text.split(this.sep);
    }
    override toUrl(value: unknown): string {
      return (value as string[]).map((v) => encodeURIComponent(v)).join(this.sep);
    }
  }
  /** Refuses odd numbers in toValue: the next rule gets its chance. */
  class EvenConverter extends BaseConverter {
    override regex = '\\d+';
    override weight = 10;
    override toValue(text: string): number {
      const n = Number(text);
      if (n % 2) throw new ValidationError();
      return n;
    }
  }
  const map = new RouteMap(
    [
      new Rule('/h/<hex:n>', { endpoint: 'hex' }),
      new Rule('/l/<list(sep=";"):xs>', { endpoint: 'list' }),
      new Rule('/n/<even:n>', { endpoint: 'even' }),
      new Rule('/n/<int:n>', { endpoint: 'odd' }),
    ],
    { converters: { hex: HexConverter, list: ListConverter, even: EvenConverter } },
  );
  const a = map.bind('example.com');

  it('are registered by name and decode and encode', () => {
    assert.deepEqual(a.match('/h/ff').args, { n: 255 });
    assert.equal(a.build('hex', { n: 255 }), '/h/ff');
    assert.throws(() => a.match('/h/FG'), NotFound);
    assert.deepEqual(a.match('/l/a;b;c').args, { xs: ['a', 'b', 'c'] });
    assert.equal(a.build('list', { xs: ['a b', 'c'] }), '/l/a%20b;c');
  });

  it('a ValidationError in toValue passes the URL to the next rule', () => {
    assert.equal(a.match('/n/4').endpoint, 'even');
    assert.equal(a.match('/n/5').endpoint, 'odd');
  });

  it('a converter regex with a capturing group is refused (it would shift every argument)', () => {
    class Bad extends BaseConverter {
      override regex = '(a|b)';
    }
    assert.throws(() => new RouteMap([new Rule('/<bad:x>', { endpoint: 'e' })], { converters: { bad: Bad } }), /capturing groups/);
  });

  it('does not find converters on Object.prototype', () => {
    assert.throws(() => new RouteMap([new Rule('/<constructor:x>', { endpoint: 'e' })]), /no converter named/);
  });
});
