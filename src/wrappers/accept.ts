/**
 * Content negotiation (RFC 9110 §12.5): `Accept`, `Accept-Language`, `Accept-Encoding` and
 * `Accept-Charset` as lists of values with their quality, and `bestMatch(offers)` to choose what to
 * send. The quality of an offer is the one the *most specific* matching entry gives it, as the RFC
 * says (so `*\/*, text/html;q=0` refuses text/html; Werkzeug would take it through `*\/*`). Among
 * offers of equal quality the one matched more specifically wins, then the one listed first.
 *
 * Hand-written: `negotiator` (the jshttp library) chooses but does not expose qualities, and its ties
 * go by the client's order, not the server's.
 * @module
 */
import { parseOptionsHeader, splitList } from './headers.js';

export interface AcceptItem {
  /** The value as the client wrote it, lower-cased (`text/html`, `en-us`, `gzip`, `*`). */
  value: string;
  /** 0 to 1. */
  quality: number;
  /** Parameters other than q (media types only: `level=1`). */
  params: Record<string, string>;
}

export type AcceptKind = 'mime' | 'language' | 'encoding' | 'charset';

function parseQuality(raw: string | undefined): number {
  if (raw === undefined) return 1;
  // RFC 9110 qvalue: 0, 0.xxx, 1, 1.000. Anything else counts as 1, as most servers read it.
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(raw.trim())) return 1;
  return Number(raw.trim());
}

/** One negotiable header. Iterating gives the items by descending quality (stable for ties). */
export class Accept implements Iterable<AcceptItem> {
  /** The items, best first. */
  readonly items: readonly AcceptItem[];
  /** Whether the client sent the header at all (without it, every offer is acceptable). */
  readonly provided: boolean;

  constructor(
    header: string | null,
    readonly kind: AcceptKind,
  ) {
    this.provided = header !== null;
    const items: AcceptItem[] = [];
    for (const member of splitList(header ?? '')) {
      const { value, params } = parseOptionsHeader(member);
      if (!value) continue;
      const quality = parseQuality(params['q']);
      delete params['q'];
      items.push({ value: kind === 'mime' && value === '*' ? '*/*' : value, quality, params });
    }
    this.items = items
      .map((item, i) => ({ item, i }))
      .sort((a, b) => b.item.quality - a.item.quality || a.i - b.i)
      .map((x) => x.item);
  }

  [Symbol.iterator](): Iterator<AcceptItem> {
    return this.items[Symbol.iterator]();
  }

  /** The client's favourite value, or null when the header is absent or empty. */
  get best(): string | null {
    return this.items[0]?.value ?? null;
  }

  /** The quality the client gives `offer` (0 = not acceptable). */
  quality(offer: string): number {
    return this.match(offer)?.quality ?? 0;
  }

  /** Whether `offer` is acceptable (quality above 0). */
  accepts(offer: string): boolean {
    return this.quality(offer) > 0;
  }

  /**
   * The offer to send: the one with the highest quality above 0; ties go to the more specific match,
   * then to the earlier offer. `fallback` (default null) when none is acceptable.
   */
  bestMatch<D = null>(offers: readonly string[], fallback: D = null as D): string | D {
    let best: { offer: string; quality: number; specificity: number } | null = null;
    for (const offer of offers) {
      const m = this.match(offer);
      if (m === null || m.quality <= 0) continue;
      if (best === null || m.quality > best.quality || (m.quality === best.quality && m.specificity > best.specificity)) {
        best = { offer, quality: m.quality, specificity: m.specificity };
      }
    }
    if (best === null && this.kind === 'language') {
      // Werkzeug's last fallback: same primary language (a client asking for en-GB still gets en-US).
      for (const offer of offers) {
        const primary = offer.toLowerCase().split('-')[0]!;
        if (this.items.some((i) => i.quality > 0 && i.value.split('-')[0] === primary)) return offer;
      }
    }
    return best === null ? fallback : best.offer;
  }

  /** The most specific item that matches `offer`, with its quality and specificity; null when none does. */
  private match(offer: string): { quality: number; specificity: number } | null {
    if (!this.provided) return { quality: 1, specificity: 0 };
    const o = parseOptionsHeader(offer);
    let found: { quality: number; specificity: number } | null = null;
    for (const item of this.items) {
      const s = this.specificity(item, o.value, o.params);
      if (s < 0) continue;
      if (found === null || s > found.specificity) found = { quality: item.quality, specificity: s };
    }
    if (found === null && this.kind === 'encoding' && o.value === 'identity') {
      // RFC 9110 §12.5.3: identity is acceptable unless refused explicitly (identity;q=0 or *;q=0).
      return { quality: 1, specificity: 0 };
    }
    return found;
  }

  /** How specifically `item` matches the offer (higher is more specific), or -1 when it does not. */
  private specificity(item: AcceptItem, offer: string, offerParams: Record<string, string>): number {
    const v = item.value;
    switch (this.kind) {
      case 'mime': {
        const [type, sub] = offer.split('/');
        const [itype, isub] = v.split('/');
        let s: number;
        if (v === '*/*') s = 1;
        else if (itype === type && isub === '*') s = 2;
        else if (itype === type && isub === sub) s = 3;
        else return -1;
        // Parameters in the Accept entry (text/html;level=1) must all be in the offer; each makes it more specific.
        const names = Object.keys(item.params);
        for (const n of names) if (offerParams[n]?.toLowerCase() !== item.params[n]!.toLowerCase()) return -1;
        return s * 100 + names.length;
      }
      case 'language': {
        // RFC 4647 basic filtering: a range matches a tag equal to it or starting with it plus '-'.
        const tag = offer;
        if (v === '*') return 0;
        if (tag === v) return 100;
        if (tag.startsWith(v + '-')) return v.split('-').length;
        // RFC 4647 §3.4 lookup: a client asking for fr-CA takes fr, though less specifically than any range that names fr.
        if (v.startsWith(tag + '-')) return 0.5;
        return -1;
      }
      default:
        if (v === '*') return 0;
        return v === offer ? 1 : -1;
    }
  }
}
