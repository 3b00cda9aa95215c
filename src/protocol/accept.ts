// Quality lists (RFC 9110 §12.4.2: Accept, Accept-Encoding, Accept-Language), parsed once for the
// middleware, the HTTP exceptions and the wrappers.

/**
 * Parses a list of `token;q=value` (Accept, Accept-Encoding): lower-cased names with their quality,
 * in the order given. Malformed qualities count as 1, as most servers read them.
 */
export function parseQualityList(header: string): Array<{ name: string; q: number; params: string }> {
  const out: Array<{ name: string; q: number; params: string }> = [];
  for (const part of header.split(',')) {
    const semi = part.indexOf(';');
    const name = (semi === -1 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (!name) continue;
    let q = 1;
    const params = semi === -1 ? '' : part.slice(semi + 1);
    const m = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(params);
    if (m) {
      const v = Number(m[1]);
      if (Number.isFinite(v)) q = Math.min(1, Math.max(0, v));
    }
    out.push({ name, q, params });
  }
  return out;
}
