import { promises as dns } from 'node:dns';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { Config } from '../config/schema.js';
import { WebhookUrlError } from '../errors/webhook-errors.js';

/**
 * SSRF guard for callback URLs. A client-supplied URL is called from inside the
 * cluster, so it must never reach loopback, private, link-local (cloud
 * metadata), multicast or reserved addresses. The check runs at submission and
 * again, on the freshly resolved addresses, at every delivery; the delivery
 * then connects to the address that was checked (see `pinnedLookup`), so DNS
 * rebinding cannot swap it between check and connect.
 */

export interface WebhookUrlPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: skip the address checks entirely (tests, trusted networks). */
  readonly allowPrivate: boolean;
  /** WEBHOOK_ALLOWED_HOSTS: host names (normalised) whose addresses are not checked. */
  readonly allowedHosts: ReadonlySet<string>;
}

export function webhookUrlPolicy(
  config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE' | 'WEBHOOK_ALLOWED_HOSTS'>,
): WebhookUrlPolicy {
  return {
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    allowedHosts: new Set(config.WEBHOOK_ALLOWED_HOSTS.map(normaliseHost)),
  };
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves every address of a host name (A and AAAA), like `dns.lookup(host, { all: true })`. */
export type LookupAll = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: LookupAll = async (hostname) => {
  const found = await dns.lookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** Where one delivery goes: the URL and the checked address to connect to. */
export interface WebhookTarget {
  url: URL;
  /** host name without IPv6 brackets */
  hostname: string;
  port: number;
  /** the first address the request connects to; every address of the host passed the check */
  address: string;
  family: 4 | 6;
  /** all checked addresses, in resolver order (the connection may fall back through them) */
  addresses: ResolvedAddress[];
}

export const maxCallbackUrlLength = 2048;

/** Host as compared with the allow-list: lower case, no IPv6 brackets, no trailing dot. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * Parses a callback URL with the WHATWG parser, which also normalises odd IPv4
 * spellings (`2130706433`, `0177.0.0.1`, `0x7f.1` all become `127.0.0.1`) and
 * IPv6 forms, so the address check sees the canonical address.
 */
export function parseWebhookUrl(raw: unknown): URL {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new WebhookUrlError('syntax', 'callback_url must be a non-empty string');
  }
  if (raw.length > maxCallbackUrlLength) {
    throw new WebhookUrlError('syntax', `callback_url is longer than ${maxCallbackUrlLength} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new WebhookUrlError('syntax', 'callback_url is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookUrlError('scheme', 'callback_url must use http or https');
  }
  if (url.username !== '' || url.password !== '') {
    throw new WebhookUrlError('credentials', 'callback_url must not contain credentials');
  }
  if (url.hostname === '') {
    throw new WebhookUrlError('syntax', 'callback_url has no host');
  }
  return url;
}

/** True when the policy lets this URL skip the address checks. */
export function isHostTrusted(url: URL, policy: WebhookUrlPolicy): boolean {
  return policy.allowPrivate || policy.allowedHosts.has(normaliseHost(url.hostname));
}

/**
 * Resolves the URL's host and checks every address; refuses if ANY is
 * disallowed (an attacker may mix a public and a private record). Returns the
 * address to connect to.
 */
export async function resolveWebhookTarget(
  url: URL,
  policy: WebhookUrlPolicy,
  lookup: LookupAll = systemLookup,
): Promise<WebhookTarget> {
  const hostname = normaliseHost(url.hostname);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const trusted = isHostTrusted(url, policy);
  const literalFamily = isIP(hostname);

  let addresses: ResolvedAddress[];
  if (literalFamily !== 0) {
    addresses = [{ address: hostname, family: literalFamily === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await lookup(hostname);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') {
        // Retryable: a name that does not resolve now may resolve later (DNS propagation).
        throw new WebhookUrlError('unresolvable', `callback_url host ${hostname} does not resolve`, true);
      }
      throw new WebhookUrlError('lookup_failed', `could not resolve callback_url host ${hostname}`, true);
    }
    if (addresses.length === 0) {
      throw new WebhookUrlError('unresolvable', `callback_url host ${hostname} does not resolve`, true);
    }
  }

  if (!trusted) {
    for (const { address } of addresses) {
      const kind = classifyAddress(address);
      if (kind) {
        const via = literalFamily === 0 ? ` (${hostname} resolves to ${address})` : '';
        throw new WebhookUrlError('blocked_address', `callback_url points at a ${kind} address${via}`);
      }
    }
  }
  const first = addresses[0]!;
  return { url, hostname, port, address: first.address, family: first.family, addresses };
}

/** Parses and checks a callback URL in one step (what the API does at submission). */
export async function checkWebhookUrl(
  raw: unknown,
  policy: WebhookUrlPolicy,
  lookup: LookupAll = systemLookup,
): Promise<WebhookTarget> {
  return resolveWebhookTarget(parseWebhookUrl(raw), policy, lookup);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | ResolvedAddress[], family?: number) => void;

/**
 * A `lookup` for http.request/net.connect that only ever answers the checked
 * addresses, so the connection goes where the guard looked and a second DNS
 * answer (rebinding) is never used. Handles both the single-address form and
 * the `all: true` form Node's happy eyeballs uses to fall back through them.
 */
export function pinnedLookup(target: Pick<WebhookTarget, 'address' | 'family'> & { addresses?: ResolvedAddress[] }) {
  return (_hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    if (typeof options === 'object' && options?.all) {
      callback(null, target.addresses?.length ? target.addresses : [{ address: target.address, family: target.family }]);
    } else {
      callback(null, target.address, target.family);
    }
  };
}

// ---------------------------------------------------------------------------
// Address classification (pure)

type V4Range = readonly [base: number, bits: number, kind: string];

const ip4 = (s: string): number => s.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);

const v4Ranges: V4Range[] = (
  [
    ['255.255.255.255', 32, 'broadcast'],
    ['0.0.0.0', 8, 'unspecified'],
    ['10.0.0.0', 8, 'private'],
    ['100.64.0.0', 10, 'private (CGNAT)'],
    ['127.0.0.0', 8, 'loopback'],
    ['169.254.0.0', 16, 'link-local'],
    ['172.16.0.0', 12, 'private'],
    ['192.0.0.0', 24, 'reserved'],
    ['192.0.2.0', 24, 'reserved'],
    ['192.88.99.0', 24, 'reserved'],
    ['192.168.0.0', 16, 'private'],
    ['198.18.0.0', 15, 'reserved'],
    ['198.51.100.0', 24, 'reserved'],
    ['203.0.113.0', 24, 'reserved'],
    ['224.0.0.0', 4, 'multicast'],
    ['240.0.0.0', 4, 'reserved'],
  ] as const
).map(([base, bits, kind]) => [ip4(base), bits, kind] as const);

function classifyV4(value: number): string | undefined {
  for (const [base, bits, kind] of v4Ranges) {
    const size = 2 ** (32 - bits);
    if (value >= base && value < base + size) return kind;
  }
  return undefined;
}

/** Eight 16-bit words of an IPv6 address (zone id dropped), or undefined if not IPv6. */
export function parseIPv6(input: string): number[] | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!isIPv6(s)) return undefined;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ip4(tail);
    s = `${s.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const headWords = head === '' ? [] : head.split(':');
  const restWords = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - headWords.length - restWords.length;
  const words = [...headWords, ...Array<string>(fill).fill('0'), ...restWords].map((w) => parseInt(w, 16));
  return words.length === 8 ? words : undefined;
}

const embeddedV4 = (hi: number, lo: number): number => hi * 65536 + lo;

function classifyV6(w: number[]): string | undefined {
  const [w0, w1, w2, w3, w4, w5, w6, w7] = w as [number, number, number, number, number, number, number, number];
  const first96Zero = w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0;
  if (first96Zero && w6 === 0 && w7 === 0) return 'unspecified';
  if (first96Zero && w6 === 0 && w7 === 1) return 'loopback';
  const inner = (kind: string) => {
    const v4kind = classifyV4(embeddedV4(w6, w7));
    return v4kind ? `${v4kind} (${kind})` : undefined;
  };
  // ::a.b.c.d (IPv4-compatible, deprecated)
  if (first96Zero) return inner('IPv4-compatible IPv6');
  // ::ffff:a.b.c.d (IPv4-mapped)
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0xffff) return inner('IPv4-mapped IPv6');
  // ::ffff:0:a.b.c.d (IPv4-translated, SIIT)
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0xffff && w5 === 0) return inner('IPv4-translated IPv6');
  // 64:ff9b::/96 well-known NAT64 prefix
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return inner('NAT64');
  // 64:ff9b:1::/48 local-use NAT64: translates into the operator's own network
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 1) return 'private (local NAT64)';
  // 2002::/16 6to4 embeds an IPv4 address in bits 16..48
  if (w0 === 0x2002) {
    const v4kind = classifyV4(embeddedV4(w1, w2));
    return v4kind ? `${v4kind} (6to4)` : undefined;
  }
  if (w0 === 0x2001 && w1 === 0) return 'reserved (Teredo)';
  if (w0 === 0x2001 && w1 === 0xdb8) return 'reserved';
  if (w0 === 0x100 && w1 === 0 && w2 === 0 && w3 === 0) return 'reserved';
  if ((w0 & 0xfe00) === 0xfc00) return 'private';
  if ((w0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((w0 & 0xffc0) === 0xfec0) return 'private (site-local)';
  if ((w0 & 0xff00) === 0xff00) return 'multicast';
  return undefined;
}

/**
 * What kind of non-public address this is ('loopback', 'private', ...), or
 * undefined for an address a webhook may go to. Anything that is not a valid
 * IP address counts as disallowed.
 */
export function classifyAddress(address: string): string | undefined {
  const a = normaliseHost(address);
  if (isIPv4(a)) return classifyV4(ip4(a));
  const words = parseIPv6(a);
  if (words) return classifyV6(words);
  return 'invalid';
}
