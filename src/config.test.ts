import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, loadConfig, parseCorsOrigins } from './config.ts';

describe('loadConfig: CORS and connection limits', () => {
  it('defaults to CORS for any origin and the documented limits', () => {
    const config = loadConfig({});
    expect(config.corsOrigins).toBe('*');
    expect(config.limits).toEqual({ maxConnections: 10_000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    expect(config.limits).toEqual(DEFAULT_LIMITS);
  });

  it('reads KITH_CORS_ORIGINS as *, none, or a list of origins', () => {
    expect(loadConfig({ KITH_CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    expect(loadConfig({ KITH_CORS_ORIGINS: 'none' }).corsOrigins).toEqual([]);
    expect(loadConfig({ KITH_CORS_ORIGINS: 'https://shop.example.com, http://localhost:3000,' }).corsOrigins).toEqual(['https://shop.example.com', 'http://localhost:3000']);
  });

  it('refuses origins a browser would never send, naming the setting', () => {
    for (const bad of ['https://shop.example.com/', 'https://Shop.example.com', 'https://shop.example.com:443', 'shop.example.com', 'https://shop.example.com/path', 'file:///x', ',']) {
      expect(() => parseCorsOrigins(bad, 'KITH_CORS_ORIGINS'), bad).toThrow(/KITH_CORS_ORIGINS/);
    }
  });

  it('reads the limits from the environment and refuses nonsense', () => {
    const config = loadConfig({ KITH_MAX_CONNECTIONS: '50', KITH_HEADERS_TIMEOUT_MS: '2000', KITH_REQUEST_TIMEOUT_MS: '5000' });
    expect(config.limits).toEqual({ maxConnections: 50, headersTimeoutMs: 2000, requestTimeoutMs: 5000 });
    expect(() => loadConfig({ KITH_MAX_CONNECTIONS: '0' })).toThrow(/KITH_MAX_CONNECTIONS/);
    expect(() => loadConfig({ KITH_REQUEST_TIMEOUT_MS: '1.5' })).toThrow(/KITH_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ KITH_HEADERS_TIMEOUT_MS: '60000' })).toThrow(/must not exceed/);
  });
});
