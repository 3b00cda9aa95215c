// wsgiref.headers.Headers, ported: CPython's test_wsgiref HeaderTests plus H1–H14 of
// research/wsgi-spec.md §3.2 (expected strings checked against CPython).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderList } from '../src/spec.js';
import { Headers } from '../src/headers.js';
import { ValueError, latin1 } from '../src/util.js';

/** Every C0 control character plus DEL (test.support.control_characters_c0). */
const C0 = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\x7f'];

const assertionError = (got: string) => ({
  name: 'AssertionError',
  message: `Header names/values must be of type str (got ${got})`,
});
const controlError = { name: 'ValueError', message: 'Control characters not allowed in headers' };
const listError = { name: 'TypeError', message: 'Headers must be a list of name/value tuples' };

describe('Headers: test_wsgiref HeaderTests', () => {
  test('testMappingInterface', () => {
    const pairs: HeaderList = [['x', 'y']];
    assert.equal(new Headers().length, 0);
    assert.equal(new Headers([]).length, 0);
    assert.equal(new Headers([...pairs]).length, 1);
    assert.deepEqual(new Headers([...pairs]).keys(), ['x']);
    assert.deepEqual(new Headers([...pairs]).values(), ['y']);
    assert.deepEqual(new Headers([...pairs]).items(), pairs);
    assert.notEqual(new Headers(pairs).items(), pairs); // must be a copy

    const h = new Headers();
    h.delete('foo'); // no error for a missing header

    h.set('Foo', 'bar');
    for (const name of ['foo', 'Foo', 'FOO']) {
      assert.equal(h.has(name), true);
      assert.equal(h.get(name), 'bar');
      assert.deepEqual(h.getAll(name), ['bar']);
    }
    assert.equal(h.has('bar'), false);
    assert.equal(h.get('bar'), null);
    assert.deepEqual(h.getAll('bar'), []);

    assert.equal(h.get('foo'), 'bar');
    h.set('foo', 'baz');
    assert.equal(h.get('FOO'), 'baz');
    assert.deepEqual(h.getAll('foo'), ['baz']);

    assert.equal(h.get('foo', 'whee'), 'baz');
    assert.equal(h.get('zoo', 'whee'), 'whee');
    assert.equal(h.setdefault('foo', 'whee'), 'baz');
    assert.equal(h.setdefault('zoo', 'whee'), 'whee');
    assert.equal(h.get('foo'), 'baz');
    assert.equal(h.get('zoo'), 'whee');
  });

  test('testRequireList', () => {
    assert.throws(() => new Headers('foo' as unknown as HeaderList), listError);
  });

  test('testExtras', () => {
    const h = new Headers();
    assert.equal(h.toString(), '\r\n');

    h.addHeader('foo', 'bar', { baz: 'spam' });
    assert.equal(h.get('foo'), 'bar; baz="spam"');
    assert.equal(h.toString(), 'foo: bar; baz="spam"\r\n\r\n');

    h.addHeader('Foo', 'bar', { cheese: null });
    assert.deepEqual(h.getAll('foo'), ['bar; baz="spam"', 'bar; cheese']);
    assert.equal(h.toString(), 'foo: bar; baz="spam"\r\n' + 'Foo: bar; cheese\r\n' + '\r\n');
  });

  test('testRaisesControlCharacters', () => {
    const h = new Headers();
    for (const c0 of C0) {
      const label = `U+${c0.charCodeAt(0).toString(16).padStart(4, '0')}`;
      assert.throws(() => h.set(`key${c0}`, 'val'), controlError, label);
      assert.throws(() => h.addHeader(`key${c0}`, 'val', { param: 'param' }), controlError, label);
      assert.throws(() => h.addHeader('key', 'val', { [`param${c0}`]: 'param' }), controlError, label);
      // HTAB is allowed in a value (RFC 9110 §5.5), never in a name.
      if (c0 === '\t') continue;
      assert.throws(() => h.set('key', `val${c0}`), controlError, label);
      assert.throws(() => h.addHeader('key', `val${c0}`, { param: 'param' }), controlError, label);
      assert.throws(() => h.addHeader('key', 'val', { param: `param${c0}` }), controlError, label);
    }
    assert.equal(h.length, 0);
  });
});

describe('Headers: construction (H1, H2)', () => {
  test('no list, undefined or null gives a new empty list', () => {
    for (const h of [new Headers(), new Headers(undefined), new Headers(null)]) {
      assert.deepEqual(h.list, []);
      assert.equal(h.length, 0);
    }
    assert.notEqual(new Headers().list, new Headers().list);
  });

  test('anything but an array is a TypeError', () => {
    for (const bad of ['foo', {}, new Map(), 1, true]) {
      assert.throws(() => new Headers(bad as unknown as HeaderList), listError);
    }
  });

  test('an item that is not a name/value pair is a TypeError', () => {
    for (const bad of [['a'], ['a', 'b', 'c'], 'ab', null]) {
      assert.throws(() => new Headers([bad] as unknown as HeaderList), listError);
    }
  });

  test('a name or value that is not a string is an AssertionError with wsgiref message', () => {
    assert.throws(() => new Headers([['a', 1]] as unknown as HeaderList), assertionError('1'));
    assert.throws(() => new Headers([['a', null]] as unknown as HeaderList), assertionError('None'));
    assert.throws(() => new Headers([[['x'], 'b']] as unknown as HeaderList), assertionError("['x']"));
    assert.throws(() => new Headers([['a', latin1('b')]] as unknown as HeaderList), assertionError("b'b'"));
  });

  test('control characters in the given list are a ValueError; TAB is fine in a value only', () => {
    assert.throws(() => new Headers([['a\r', 'b']]), controlError);
    assert.throws(() => new Headers([['a', 'b\r\nX-Injected: 1']]), controlError);
    assert.throws(() => new Headers([['a\t', 'b']]), controlError);
    assert.equal(new Headers([['a', 'b\tc']]).get('a'), 'b\tc');
  });

  test('the ValueError is the ValueError of util', () => {
    assert.throws(() => new Headers([['a\n', 'b']]), ValueError);
  });
});

describe('Headers: the list is shared with the caller (H1)', () => {
  test('list is the array that was passed in', () => {
    const list: HeaderList = [['A', '1']];
    assert.equal(new Headers(list).list, list);
  });

  test('set, delete, setdefault and addHeader change the caller list in place', () => {
    const list: HeaderList = [
      ['A', '1'],
      ['B', '2'],
      ['a', '3'],
    ];
    const h = new Headers(list);
    h.delete('a');
    assert.deepEqual(list, [['B', '2']]);
    h.set('C', '4');
    h.setdefault('D', '5');
    h.addHeader('E', '6', { q: '1' });
    assert.deepEqual(list, [
      ['B', '2'],
      ['C', '4'],
      ['D', '5'],
      ['E', '6; q="1"'],
    ]);
    assert.equal(h.list, list);
  });

  test('changes the caller makes are seen', () => {
    const list: HeaderList = [];
    const h = new Headers(list);
    list.push(['X', 'y']);
    assert.equal(h.get('x'), 'y');
    assert.equal(h.length, 1);
  });
});

describe('Headers: reading (H3, H6–H9)', () => {
  const make = () =>
    new Headers([
      ['Set-Cookie', 'a=1'],
      ['Content-Type', 'text/plain'],
      ['set-cookie', 'b=2'],
    ]);

  test('length counts duplicates', () => {
    assert.equal(make().length, 3);
  });

  test('get returns the first match, or the default (null) — never throws for a missing name', () => {
    const h = make();
    assert.equal(h.get('SET-COOKIE'), 'a=1');
    assert.equal(h.get('Missing'), null);
    assert.equal(h.get('Missing', 'x'), 'x');
    assert.equal(h.get('Missing', undefined), undefined);
  });

  test('has is get(name) !== null', () => {
    const h = make();
    assert.equal(h.has('content-type'), true);
    assert.equal(h.has('Content-Length'), false);
  });

  test('getAll returns every match in list order', () => {
    assert.deepEqual(make().getAll('Set-Cookie'), ['a=1', 'b=2']);
    assert.deepEqual(make().getAll('X'), []);
  });

  test('keys and values keep order, case and duplicates', () => {
    assert.deepEqual(make().keys(), ['Set-Cookie', 'Content-Type', 'set-cookie']);
    assert.deepEqual(make().values(), ['a=1', 'text/plain', 'b=2']);
  });

  test('items is a copy: changing it, or a pair in it, leaves the headers alone', () => {
    const h = make();
    const items = h.items();
    assert.deepEqual(items, h.list);
    items.pop();
    items[0]![1] = 'changed';
    assert.equal(h.length, 3);
    assert.equal(h.get('set-cookie'), 'a=1');
  });

  test('iterating gives the pairs in order', () => {
    assert.deepEqual(
      [...make()],
      [
        ['Set-Cookie', 'a=1'],
        ['Content-Type', 'text/plain'],
        ['set-cookie', 'b=2'],
      ],
    );
    const pairs: Array<[string, string]> = [];
    for (const pair of new Headers([['A', 'b']])) pairs.push(pair);
    assert.deepEqual(pairs, [['A', 'b']]);
  });

  test('lookups check the name too', () => {
    const h = make();
    assert.throws(() => h.get('a\nb'), controlError);
    assert.throws(() => h.getAll('a\x00'), controlError);
    assert.throws(() => h.delete('a\r'), controlError);
    assert.throws(() => h.has(1 as unknown as string), assertionError('1'));
  });
});

describe('Headers: writing (H4, H5, H13)', () => {
  test('set removes every match and appends, so the header moves to the end', () => {
    const h = new Headers([
      ['A', '1'],
      ['B', '2'],
      ['a', '3'],
    ]);
    h.set('a', 'new');
    assert.deepEqual(h.list, [
      ['B', '2'],
      ['a', 'new'],
    ]);
  });

  test('delete removes every case-insensitive match', () => {
    const h = new Headers([
      ['X-A', '1'],
      ['x-a', '2'],
      ['X-B', '3'],
    ]);
    h.delete('X-a');
    assert.deepEqual(h.list, [['X-B', '3']]);
    h.delete('nothing');
    assert.deepEqual(h.list, [['X-B', '3']]);
  });

  test('set refuses a non-string name or value with wsgiref message', () => {
    const h = new Headers();
    assert.throws(() => h.set('a', 1 as unknown as string), assertionError('1'));
    assert.throws(() => h.set(null as unknown as string, 'b'), assertionError('None'));
  });

  test('a failed set leaves the existing headers in place', () => {
    const h = new Headers([['A', '1']]);
    assert.throws(() => h.set('A', 'x\ny'), controlError);
    assert.deepEqual(h.list, [['A', '1']]);
  });

  test('setdefault keeps the first existing value, else appends', () => {
    const h = new Headers([
      ['A', '1'],
      ['a', '2'],
    ]);
    assert.equal(h.setdefault('A', 'x'), '1');
    assert.equal(h.length, 2);
    assert.equal(h.setdefault('B', 'y'), 'y');
    assert.deepEqual(h.list, [
      ['A', '1'],
      ['a', '2'],
      ['B', 'y'],
    ]);
  });

  test('setdefault checks what it appends', () => {
    assert.throws(() => new Headers().setdefault('B', 'y\r'), controlError);
    assert.throws(() => new Headers().setdefault('B', 2 as unknown as string), assertionError('2'));
  });
});

describe('Headers: addHeader (H14)', () => {
  test('the wsgiref docstring example', () => {
    const h = new Headers();
    h.addHeader('content-disposition', 'attachment', { filename: 'bud.gif' });
    assert.equal(h.get('content-disposition'), 'attachment; filename="bud.gif"');
  });

  test('"_" in a parameter name becomes "-"; values are quoted with \\ and " escaped', () => {
    const h = new Headers();
    h.addHeader('Y', null, { a_b: 'q"u\\o', e: '' });
    h.addHeader('Z', 'v', { x_y_z: null });
    assert.equal(h.toString(), 'Y: a-b="q\\"u\\\\o"; e\r\nZ: v; x-y-z\r\n\r\n');
  });

  test('an empty parameter value gives the bare name, as null does', () => {
    const h = new Headers();
    h.addHeader('A', 'v', { flag: '' });
    assert.equal(h.get('A'), 'v; flag');
  });

  test('a null value with no parameters gives an empty value', () => {
    const h = new Headers();
    h.addHeader('X', null);
    assert.deepEqual(h.list, [['X', '']]);
    assert.equal(h.toString(), 'X: \r\n\r\n');
  });

  test('parameters keep their order; undefined ones are skipped', () => {
    const h = new Headers();
    h.addHeader('A', 'v', { z: '1', a: '2', skipped: undefined, m: null });
    assert.equal(h.get('A'), 'v; z="1"; a="2"; m');
  });

  test('it always appends, even when the header exists', () => {
    const h = new Headers([['A', '1']]);
    h.addHeader('a', '2');
    assert.deepEqual(h.getAll('A'), ['1', '2']);
  });

  test('a non-string parameter value is an AssertionError', () => {
    const h = new Headers();
    assert.throws(() => h.addHeader('A', 'v', { p: 3 as unknown as string }), assertionError('3'));
    assert.throws(() => h.addHeader(5 as unknown as string, 'v'), assertionError('5'));
    assert.equal(h.length, 0);
  });
});

describe('Headers: wire format (H11, H12)', () => {
  test('toString: "Name: value\\r\\n" per header, then "\\r\\n", with nothing folded, trimmed or recased', () => {
    const h = new Headers([
      ['content-TYPE', ' text/plain '],
      ['X-Tab', 'a\tb'],
      ['X-Empty', ''],
      ['content-type', 'again'],
    ]);
    assert.equal(h.toString(), 'content-TYPE:  text/plain \r\nX-Tab: a\tb\r\nX-Empty: \r\ncontent-type: again\r\n\r\n');
    assert.equal(String(new Headers()), '\r\n');
    assert.equal(`${new Headers([['A', 'b']])}`, 'A: b\r\n\r\n');
  });

  test('toBytes is toString in ISO-8859-1', () => {
    assert.deepEqual(new Headers([['a', '\u00e9']]).toBytes(), new Uint8Array([0x61, 0x3a, 0x20, 0xe9, 13, 10, 13, 10]));
    assert.deepEqual(new Headers().toBytes(), new Uint8Array([13, 10]));
  });

  test('toBytes throws a TypeError for a char above U+00FF (UnicodeEncodeError in Python)', () => {
    const h = new Headers([['a', '\u0100']]);
    assert.throws(() => h.toBytes(), { name: 'TypeError', message: /U\+0100.*position 3/ });
  });
});
