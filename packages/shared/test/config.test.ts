import { describe, expect, it } from 'vitest';
import { ConfigError, createKeys, loadConfig } from '@maskq/shared';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.QUEUE_PREFIX).toBe('maskq');
    expect(config.PORT).toBe(8000);
    expect(config.WORKER_METRICS_PORT).toBe(9464);
    expect(config.EXECUTION_PROVIDER).toBe('cpu');
  });

  it('coerces numbers and treats empty strings as unset', () => {
    const config = loadConfig({ PORT: '9000', BATCH_MAX_SIZE: '', EXECUTION_PROVIDER: 'cuda' });
    expect(config.PORT).toBe(9000);
    expect(config.BATCH_MAX_SIZE).toBe(16);
    expect(config.EXECUTION_PROVIDER).toBe('cuda');
  });

  it('reads the access and limit settings: off or generous by default, fractions for rates', () => {
    const defaults = loadConfig({});
    expect(defaults.ALLOW_UNAUTHENTICATED).toBe(false);
    expect(defaults.RATE_LIMIT_PER_SECOND).toBe(0);
    expect(defaults.MAX_QUEUE_DEPTH).toBe(10_000);
    expect(defaults.METRICS_TOKEN).toBeUndefined();
    const set = loadConfig({ RATE_LIMIT_PER_SECOND: '0.5', RATE_LIMIT_BURST: '20', ALLOW_UNAUTHENTICATED: 'true', MAX_QUEUE_DEPTH: '0' });
    expect(set.RATE_LIMIT_PER_SECOND).toBe(0.5);
    expect(set.RATE_LIMIT_BURST).toBe(20);
    expect(set.ALLOW_UNAUTHENTICATED).toBe(true);
    expect(set.MAX_QUEUE_DEPTH).toBe(0);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ RATE_LIMIT_PER_SECOND: '-1' })).toThrow(ConfigError);
  });

  it('lists every bad variable at once', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'eighty', EXECUTION_PROVIDER: 'tpu', REDIS_URL: 'http://x' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/EXECUTION_PROVIDER/);
    expect(problems).toMatch(/REDIS_URL/);
  });
});

describe('createKeys', () => {
  it('gives BullMQ a hash-tagged prefix and each job its own slot tag', () => {
    const keys = createKeys('maskq');
    expect(keys.bullPrefix).toBe('{maskq}');
    expect(keys.detectWaitList()).toBe('{maskq}:detect:wait');
    expect(keys.blob('abc')).toBe('maskq:blob:{abc}');
    expect(keys.annotated('abc')).toMatch(/\{abc\}$/);
  });
});
