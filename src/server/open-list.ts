// The open connections of a door (or its sockets), for its sweep (deadlines) and its stop (drain,
// then cut). Not a Set, though a Set is what it replaces: measured (`node --trace-gc-nvp`, a connection
// per request as nginx opens them, Node 24 and 26), a door whose sockets joined and left a Set kept
// 15-20% of all it allocated alive past every young-generation GC, for as long as it served (nothing
// but a full GC let them go): each scavenge promoted 4-7 MB and took 10-45 ms instead of under 1 ms,
// and the young generation grew to its maximum. With this list, after the first GCs, none
// (test/server/open-list.test.ts). A Set rebuilds its table as entries come and go, and an old table
// keeps what it held; which exact path keeps the sockets alive is not pinned down (plain objects moved
// through a Set in a loop do not show it), so the list stays out of V8's hash tables altogether.
//
// The items sit in an array, each knowing its place: leaving moves the last item into the gap and
// pops, and a popped slot holds nothing. Iteration goes over a copy, because doors close connections
// (which leave the list) while they go through it.

const SLOT = Symbol('tsgi.openList.slot');
type Slotted = { [SLOT]?: number };

/** A set of objects, each in at most one OpenList at a time (its place is kept on the object). */
export class OpenList<T extends object> implements Iterable<T> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    if (this.has(item)) return;
    (item as Slotted)[SLOT] = this.items.length;
    this.items.push(item);
  }

  has(item: T): boolean {
    const i = (item as Slotted)[SLOT];
    return i !== undefined && i >= 0 && this.items[i] === item;
  }

  delete(item: T): boolean {
    if (!this.has(item)) return false;
    const i = (item as Slotted)[SLOT]!;
    const last = this.items.pop()!;
    if (last !== item) {
      this.items[i] = last;
      (last as Slotted)[SLOT] = i;
    }
    (item as Slotted)[SLOT] = -1;
    return true;
  }

  /** The items as they are now: adding or deleting while going through them changes nothing here. */
  [Symbol.iterator](): Iterator<T> {
    return this.items.slice()[Symbol.iterator]();
  }
}
