// Which peers may speak uwsgi or FastCGI to us. The protocol carries the front end's word for everything
// (REMOTE_ADDR, HTTPS, SCRIPT_NAME...), so a port open to anyone lets anyone forge those. Loopback only by
// default; a list of addresses and CIDR ranges (or `loopback`), or '*', otherwise, matched by the one
// trust module (src/protocol/trust.ts) that the proxy middleware uses too. Unix sockets have no address:
// their file permissions are the access control.
import { compileTrust, trustCovers } from '../protocol/trust.js';

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

/** Builds the check; throws a TypeError naming the first entry that is not an address, a range or '*'. */
export function allowList(entries: string | readonly string[] = LOOPBACK): AllowCheck {
  const list = typeof entries === 'string' ? [entries] : entries;
  const trusted = compileTrust(list, 'allow');
  const check = (address: string | undefined): boolean => address === undefined || trusted(address);
  const wholeV4Loopback = trustCovers(list, '127.0.0.0/8');
  const allowsEveryPeerOf = (bound: string | undefined): boolean => {
    if (bound === undefined) return true;
    if (V4_LOOPBACK.test(bound)) return wholeV4Loopback;
    // Only ::1 itself can connect to [::1].
    if (bound === '::1') return check('::1');
    return false;
  };
  return Object.assign(check, { allowsEveryPeerOf });
}
