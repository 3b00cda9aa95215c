// Which peers may speak uwsgi to us. The protocol carries the front end's word for everything
// (REMOTE_ADDR, HTTPS, SCRIPT_NAME...), so a uwsgi port open to anyone lets anyone forge those.
// Loopback only by default; a list of addresses and CIDR blocks, or '*', otherwise. Unix sockets
// have no address: their file permissions are the access control.
import net from 'node:net';

export const LOOPBACK: readonly string[] = ['127.0.0.0/8', '::1'];

export type AllowCheck = (address: string | undefined) => boolean;

/** Builds the check; throws a TypeError naming the first entry that is not an address or CIDR. */
export function allowList(entries: string | readonly string[] = LOOPBACK): AllowCheck {
  const list = typeof entries === 'string' ? [entries] : entries;
  if (list.includes('*')) return () => true;
  const blocks = new net.BlockList();
  for (const entry of list) {
    const [addr, prefix, extra] = entry.trim().split('/');
    const family = net.isIP(addr ?? '');
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) || Number(prefix ?? 0) > bits) {
      throw new TypeError(`allow: ${JSON.stringify(entry)} is not an IP address, a CIDR block (10.0.0.0/8) or '*'`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) blocks.addAddress(addr!, type);
    else blocks.addSubnet(addr!, Number(prefix), type);
  }
  return (address) => {
    if (address === undefined) return true;
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; match it against IPv4 entries.
    const v4 = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
    const family = net.isIP(v4);
    if (family === 0) return false;
    return blocks.check(v4, family === 4 ? 'ipv4' : 'ipv6');
  };
}
