import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '@maskq/shared';

/** Who made a request: a short id derived from the key's hash, never the key. */
export interface Principal {
  /** 16 hex characters; stored as DetectJobData.owner and used to scope rate limits and idempotency keys. */
  owner: string;
}

/** The configured API keys, as SHA-256 digests only. */
export interface ApiKeyring {
  /** false: no keys configured, every request is allowed (and anonymous). */
  readonly enabled: boolean;
  readonly size: number;
  /** The principal of a presented key, or undefined. Compares in constant time against every stored digest. */
  verify(presented: string): Principal | undefined;
}

export const minApiKeyLength = 16;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** `a, b` or one key a line with `#` comments -> the keys. */
export function parseApiKeyList(text: string, separator: 'comma' | 'line'): string[] {
  const parts = separator === 'comma' ? text.split(',') : text.split(/\r?\n/).map((line) => line.replace(/#.*$/, ''));
  return parts.map((s) => s.trim()).filter((s) => s !== '');
}

/** Reads API_KEYS and API_KEYS_FILE (once, at start). Throws ConfigError for unreadable files or short keys. */
export function readApiKeys(config: Pick<Config, 'API_KEYS' | 'API_KEYS_FILE'>): string[] {
  const keys = config.API_KEYS ? parseApiKeyList(config.API_KEYS, 'comma') : [];
  if (config.API_KEYS_FILE) {
    let text: string;
    try {
      text = readFileSync(config.API_KEYS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError([`API_KEYS_FILE: cannot read ${config.API_KEYS_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
    keys.push(...parseApiKeyList(text, 'line'));
  }
  const short = keys.filter((k) => k.length < minApiKeyLength).length;
  if (short > 0) throw new ConfigError([`API_KEYS: ${short} key(s) shorter than ${minApiKeyLength} characters`]);
  if (keys.some((k) => /\s/.test(k))) throw new ConfigError(['API_KEYS: keys must not contain whitespace']);
  return keys;
}

export function createApiKeyring(keys: readonly string[]): ApiKeyring {
  const digests = [...new Map(keys.map((k) => sha256(k)).map((d) => [d.toString('hex'), d])).values()];
  return {
    enabled: digests.length > 0,
    size: digests.length,
    verify(presented) {
      const digest = sha256(presented);
      let match: Buffer | undefined;
      // No early exit: every stored digest is compared, so timing says nothing about which matched.
      for (const stored of digests) if (timingSafeEqual(stored, digest)) match = stored;
      return match ? { owner: match.toString('hex').slice(0, 16) } : undefined;
    },
  };
}

/**
 * Builds the keyring from the config and returns a copy of the config without
 * API_KEYS, so the plaintext keys live nowhere after start but in `process.env`
 * (which main.ts also clears).
 */
export function takeApiKeyring<C extends Pick<Config, 'API_KEYS' | 'API_KEYS_FILE'>>(config: C): { keyring: ApiKeyring; config: Omit<C, 'API_KEYS'> } {
  const keyring = createApiKeyring(readApiKeys(config));
  const { API_KEYS: _dropped, ...rest } = config;
  return { keyring, config: rest };
}

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return loopbackHosts.has(host.trim().toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host.trim());
}

/**
 * Why the API must not start: listening beyond loopback with no API keys,
 * unless ALLOW_UNAUTHENTICATED=true says that is intended.
 */
export function unauthenticatedListenProblem(config: Pick<Config, 'HOST' | 'ALLOW_UNAUTHENTICATED'>, keyring: Pick<ApiKeyring, 'enabled'>): string | undefined {
  if (keyring.enabled || config.ALLOW_UNAUTHENTICATED || isLoopbackHost(config.HOST)) return undefined;
  return `HOST=${config.HOST} is reachable from other machines but no API keys are configured: set API_KEYS or API_KEYS_FILE, or ALLOW_UNAUTHENTICATED=true to run open on purpose`;
}
