import { describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig, mergeConfig } from '../src/lib/config';

describe('config', () => {
  it('overrides defaults with a served config.json', async () => {
    const served = { rpcUrl: 'http://127.0.0.1:9999', transport: 'sigv4-proxy', contract: '0x0000000000000000000000000000000000000001' };
    const config = await loadConfig(async () => new Response(JSON.stringify(served)));
    expect(config).toMatchObject(served);
    expect(config.chainId).toBe(defaultConfig.chainId);
  });

  it('keeps the defaults when there is no config.json', async () => {
    expect(await loadConfig(async () => new Response('', { status: 404 }))).toEqual(defaultConfig);
    expect(await loadConfig(async () => { throw new TypeError('offline'); })).toEqual(defaultConfig);
  });

  it('refuses an unknown transport or a bad chain id', () => {
    expect(() => mergeConfig(defaultConfig, { transport: 'carrier-pigeon' as never })).toThrow(/transport/);
    expect(() => mergeConfig(defaultConfig, { chainId: 0 })).toThrow(/chainId/);
  });
});
