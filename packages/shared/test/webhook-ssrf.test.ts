import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkWebhookUrl,
  classifyAddress,
  parseIPv6,
  parseWebhookUrl,
  webhookUrlPolicy,
  WebhookUrlError,
  type LookupAll,
  type WebhookUrlPolicy,
} from '@maskq/shared';

const strict = webhookUrlPolicy({ WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_ALLOWED_HOSTS: [] });

async function refusal(raw: string, policy: WebhookUrlPolicy = strict, lookup?: LookupAll): Promise<WebhookUrlError | undefined> {
  try {
    await checkWebhookUrl(raw, policy, lookup);
  } catch (err) {
    if (err instanceof WebhookUrlError) return err;
    throw err;
  }
  return undefined;
}

/** Names /etc/hosts maps to a loopback address, other than `localhost` itself. */
function loopbackNamesFromHosts(): string[] {
  let text: string;
  try {
    text = readFileSync('/etc/hosts', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter(([address]) => address?.startsWith('127.'))
    .flatMap(([, ...names]) => names)
    .filter((name) => name !== '' && name !== 'localhost' && !name.includes('localhost'));
}

describe('classifyAddress', () => {
  const blocked: Array<[string, RegExp]> = [
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['100.64.0.1', /CGNAT/],
    ['169.254.169.254', /link-local/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fc00::1', /private/],
    ['fd12:3456::1', /private/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /loopback \(IPv4-mapped/],
    ['::ffff:7f00:1', /loopback \(IPv4-mapped/],
    ['::ffff:10.0.0.1', /private/],
    ['::ffff:169.254.169.254', /link-local/],
    ['::127.0.0.1', /loopback \(IPv4-compatible/],
    ['::7f00:1', /loopback/],
    ['64:ff9b::127.0.0.1', /loopback \(NAT64/],
    ['64:ff9b::a00:1', /private \(NAT64/],
    ['64:ff9b:1::1', /private/],
    ['2002:7f00:1::', /loopback \(6to4/],
    ['2002:c0a8:101::1', /private \(6to4/],
  ];
  it.each(blocked)('refuses %s', (address, kind) => {
    expect(classifyAddress(address)).toMatch(kind);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    'allows public %s',
    (address) => {
      expect(classifyAddress(address)).toBeUndefined();
    },
  );

  it('treats anything that is not an IP as disallowed', () => {
    expect(classifyAddress('example.com')).toBe('invalid');
  });

  it('expands IPv6 forms to eight words', () => {
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6('1.2.3.4')).toBeUndefined();
  });
});

describe('checkWebhookUrl', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://2130706433/hook',
    'http://0177.0.0.1/hook',
    'http://0x7f.1/hook',
    'http://0x7f000001/hook',
    'http://127.1/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:7f00:1]/hook',
    'http://[0:0:0:0:0:ffff:7f00:1]/hook',
    'http://[64:ff9b::7f00:1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/',
    'http://10.0.0.5:8080/',
    'http://0.0.0.0/',
    'https://192.168.0.10/',
    'http://localhost:3000/hook',
    'http://LOCALHOST./hook',
  ])('refuses %s', async (raw) => {
    const err = await refusal(raw);
    expect(err?.reason).toBe('blocked_address');
  });

  it('refuses a host name from /etc/hosts that resolves to loopback', async () => {
    const names = [...loopbackNamesFromHosts(), 'localhost'];
    for (const name of names) {
      const err = await refusal(`http://${name}/hook`);
      expect(err?.reason, name).toBe('blocked_address');
      expect(err?.message).toMatch(/resolves to 127\./);
    }
  });

  it('refuses a name if ANY of its addresses is disallowed', async () => {
    const mixed: LookupAll = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:10.0.0.1', family: 6 },
    ];
    expect((await refusal('https://hooks.example.com/x', strict, mixed))?.reason).toBe('blocked_address');
    const publicOnly: LookupAll = async () => [{ address: '93.184.216.34', family: 4 }];
    const target = await checkWebhookUrl('https://hooks.example.com/x', strict, publicOnly);
    expect(target).toMatchObject({ hostname: 'hooks.example.com', port: 443, address: '93.184.216.34', family: 4 });
  });

  it.each([
    ['ftp://example.com/x', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://example.com/', 'scheme'],
    ['javascript:alert(1)', 'scheme'],
    ['http://user:pass@example.com/', 'credentials'],
    ['http://user@example.com/', 'credentials'],
    ['not a url', 'syntax'],
    ['/relative/path', 'syntax'],
    ['', 'syntax'],
    [`https://example.com/${'a'.repeat(2100)}`, 'syntax'],
  ])('refuses %s (%s)', async (raw, reason) => {
    expect((await refusal(raw))?.reason).toBe(reason);
  });

  it('refuses a name that does not resolve', async () => {
    const err = await refusal('http://no-such-host.invalid/hook');
    // NXDOMAIN, or a lookup failure where no resolver is reachable; both retryable at delivery
    expect(['unresolvable', 'lookup_failed']).toContain(err?.reason);
    expect(err?.retryable).toBe(true);
  });

  it('allows private addresses with WEBHOOK_ALLOW_PRIVATE, and allow-listed hosts only', async () => {
    const open = webhookUrlPolicy({ WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_ALLOWED_HOSTS: [] });
    expect((await checkWebhookUrl('http://127.0.0.1:9/x', open)).address).toBe('127.0.0.1');
    expect((await checkWebhookUrl('http://[::ffff:7f00:1]/x', open)).address).toBe('::ffff:7f00:1');

    const listed = webhookUrlPolicy({ WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_ALLOWED_HOSTS: ['localhost', '10.0.0.5'] });
    const viaName = await checkWebhookUrl('http://LocalHost:8080/x', listed);
    expect(classifyAddress(viaName.address)).toBe('loopback');
    expect(viaName.port).toBe(8080);
    expect((await checkWebhookUrl('http://10.0.0.5/x', listed)).address).toBe('10.0.0.5');
    expect((await refusal('http://127.0.0.1/x', listed))?.reason).toBe('blocked_address');
    // credentials and schemes stay refused whatever the policy says
    expect((await refusal('http://u:p@localhost/x', listed))?.reason).toBe('credentials');
  });

  it('normalises odd IPv4 spellings through WHATWG URL parsing', () => {
    for (const raw of ['http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.1/', 'http://127.1/']) {
      expect(parseWebhookUrl(raw).hostname).toBe('127.0.0.1');
    }
  });
});
