// Which peers may speak uwsgi to us. The protocol carries the front end's word for everything
// (REMOTE_ADDR, HTTPS, SCRIPT_NAME...), so a uwsgi port open to anyone lets anyone forge those.
// Loopback only by default; a list of addresses and CIDR blocks, or '*', otherwise. Unix sockets
// have no address: their file permissions are the access control.
import net from 'node:net';

export const LOOPBACK: readonly string[] = ['127.0.0.0/8', '::1'];

export type AllowCheck = ((address: string | undefined) => boolean) & {
  /**
   * True when every peer that can reach a socket bound to `bound` passes the check, so the door can
   * skip it (and its getpeername syscall) per connection: a Unix socket (`bound` undefined: file
   * permissions are the access control), or a loopback address (127.x.y.z, ::1) whose whole range
   * the list allows. Only a loopback peer can connect to a loopback address.
   */
  allowsEveryPeerOf(bound: string | undefined): boolean;
};

const V4_LOOPBACK = /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Builds the check; throws a TypeError naming the first entry that is not an address or CIDR. */
export function allowList(entries: string | readonly string[] = LOOPBACK): AllowCheck {
  const list = typeof entries === 'string' ? [entries] : entries;
  if (list.includes('*')) return Object.assign(() => true, { allowsEveryPeerOf: () => true });
  const blocks = new net.BlockList();
  // Whether some entry holds all of 127.0.0.0/8 (any 127.x.y.z may connect to a 127.0.0.1 socket).
  let wholeV4Loopback = false;
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
    if (family === 4 && prefix !== undefined && Number(prefix) <= 8) {
      const one = new net.BlockList();
      one.addSubnet(addr!, Number(prefix), 'ipv4');
      if (one.check('127.0.0.0', 'ipv4')) wholeV4Loopback = true;
    }
  }
  const check = (address: string | undefined): boolean => {
    if (address === undefined) return true;
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; match it against IPv4 entries.
    const v4 = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
    const family = net.isIP(v4);
    if (family === 0) return false;
    return blocks.check(v4, family === 4 ? 'ipv4' : 'ipv6');
  };
  const allowsEveryPeerOf = (bound: string | undefined): boolean => {
    if (bound === undefined) return true;
    if (V4_LOOPBACK.test(bound)) return wholeV4Loopback;
    // Only ::1 itself can connect to [::1].
    if (bound === '::1') return check('::1');
    return false;
  };
  return Object.assign(check, { allowsEveryPeerOf });
}
