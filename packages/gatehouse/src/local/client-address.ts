import { isIPv4, isIPv6 } from 'node:net';

/** The IPv6 prefix length a client is grouped by unless configured (`local.throttle.ipv6Prefix`). */
export const DEFAULT_IPV6_PREFIX = 56;

/** Shortest and longest configurable IPv6 grouping. */
export const IPV6_PREFIX_RANGE = { min: 32, max: 128 } as const;

/**
 * The unit a per-address limit applies to. An IPv4 address is one client; an IPv6 client
 * controls a whole prefix, so counting single IPv6 addresses (or even /64s) would let it rotate
 * through them. RIPE-690 (IPv6 prefix assignment for end-users) recommends a /48 or /56 per end
 * site, and most ISPs hand out a /56: by default a /56 counts as one client; `ipv6Prefix`
 * (32..128) widens or narrows it.
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, as Node reports IPv4 peers on a dual-stack socket)
 * counts as the IPv4 address.
 *
 * Anything else (an empty or unparsable address) is used as given, trimmed and lower-cased.
 */
export function clientAddressKey(address: string, ipv6Prefix: number = DEFAULT_IPV6_PREFIX): string {
  if (!Number.isInteger(ipv6Prefix) || ipv6Prefix < IPV6_PREFIX_RANGE.min || ipv6Prefix > IPV6_PREFIX_RANGE.max) {
    throw new RangeError(`ipv6Prefix must be an integer from ${IPV6_PREFIX_RANGE.min} to ${IPV6_PREFIX_RANGE.max}`);
  }
  const a = String(address).trim().toLowerCase();
  if (isIPv4(a)) return a;
  const unzoned = a.replace(/%.*$/, '');
  if (!isIPv6(unzoned)) return a;
  const groups = expandIPv6(unzoned);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  // Keep the first `ipv6Prefix` bits: whole groups, then the leading bits of the next one.
  const kept = Math.ceil(ipv6Prefix / 16);
  const masked = groups.slice(0, kept).map((g, i) => {
    const bits = Math.min(16, ipv6Prefix - i * 16);
    return g & ((0xffff << (16 - bits)) & 0xffff);
  });
  const text = masked.map((g) => g.toString(16)).join(':');
  return `${kept < 8 ? `${text}::` : text}/${ipv6Prefix}`;
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
