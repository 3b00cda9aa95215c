/**
 * `MultiDict`: Werkzeug's multi-dict for query strings, forms, files and cookies, where a key may come
 * more than once (`?tag=a&tag=b`) and the order of the pairs is kept. `get()` gives the first value,
 * `getAll()` every value; iteration gives every `[key, value]` pair in order.
 * @module
 */
export class MultiDict<V = string> implements Iterable<[string, V]> {
  private readonly pairs: Array<[string, V]> = [];
  private readonly index = new Map<string, V[]>();

  constructor(pairs: Iterable<readonly [string, V]> = []) {
    for (const [k, v] of pairs) this.append(k, v);
  }

  /** Adds a value for `key` after the ones it has. */
  append(key: string, value: V): void {
    this.pairs.push([key, value]);
    const list = this.index.get(key);
    if (list) list.push(value);
    else this.index.set(key, [value]);
  }

  /** The first value of `key`, or undefined. */
  get(key: string): V | undefined;
  /** The first value of `key`, or `fallback`. */
  get<D>(key: string, fallback: D): V | D;
  get(key: string, fallback?: unknown): unknown {
    const list = this.index.get(key);
    return list === undefined ? fallback : list[0];
  }

  /** Every value of `key`, in order; [] when there is none. A copy. */
  getAll(key: string): V[] {
    return [...(this.index.get(key) ?? [])];
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** The number of pairs (a key that comes twice counts twice). */
  get size(): number {
    return this.pairs.length;
  }

  /** Each distinct key once, in the order of its first appearance. */
  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  /** Every value, in order. */
  *values(): IterableIterator<V> {
    for (const [, v] of this.pairs) yield v;
  }

  /** Every `[key, value]` pair, in order (copies: changing one does not change the dict). */
  *entries(): IterableIterator<[string, V]> {
    for (const [k, v] of this.pairs) yield [k, v];
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  // Object.fromEntries defines own properties, so a key named `__proto__` stays data, never a prototype.

  /** A plain object of the first value of each key. */
  toObject(): Record<string, V> {
    return Object.fromEntries([...this.index].map(([k, list]) => [k, list[0]!]));
  }

  /** Every key with the list of its values. */
  toLists(): Record<string, V[]> {
    return Object.fromEntries([...this.index].map(([k, list]) => [k, [...list]]));
  }

  toJSON(): Record<string, V[]> {
    return this.toLists();
  }
}
