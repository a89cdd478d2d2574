import { isIPv4, isIPv6 } from 'node:net';

/**
 * The unit a per-address limit applies to. An IPv4 address is one client; an IPv6 client
 * typically controls a whole /64 (one subscriber's LAN), so counting single IPv6 addresses
 * would let it rotate through 2^64 of them. IPv4-mapped IPv6 (`::ffff:192.0.2.1`, as Node reports
 * IPv4 peers on a dual-stack socket) counts as the IPv4 address.
 *
 * Anything else (an empty or unparsable address) is used as given, trimmed and lower-cased.
 */
export function clientAddressKey(address: string): string {
  const a = String(address).trim().toLowerCase();
  if (isIPv4(a)) return a;
  const unzoned = a.replace(/%.*$/, '');
  if (!isIPv6(unzoned)) return a;
  const groups = expandIPv6(unzoned);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function expandIPv6(address: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const [head = '', tail] = address.split('::');
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
