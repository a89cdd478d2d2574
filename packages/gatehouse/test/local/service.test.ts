import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { accountStoreUrl, createLocalAccounts } from '../../src/local/service.js';
import { fakeClock } from './fake-clock.js';

const base = { publicOrigin: 'https://gatehouse.test', dataDir: '/var/lib/gatehouse' };

describe('createLocalAccounts', () => {
  it('wires store, throttle and sign-in from the config, answering the session user', async () => {
    const config = configSchema.parse({ ...base, local: { enabled: true, store: 'memory', throttle: { accountFailures: 2 } } });
    const local = createLocalAccounts(config, fakeClock());
    const account = await local.accounts.add({ username: 'alice', password: 'correct horse battery staple', roles: ['dev'] });
    expect(await local.authenticate('ALICE', 'correct horse battery staple', '192.0.2.1')).toEqual({
      id: account.id,
      username: 'alice',
      roles: ['dev'],
    });
    // accountFailures: 2 from the config.
    await expect(local.authenticate('alice', 'wrong password', '192.0.2.1')).rejects.toMatchObject({ code: 'invalid_credentials' });
    await expect(local.authenticate('alice', 'wrong password', '192.0.2.1')).rejects.toMatchObject({ code: 'invalid_credentials' });
    await expect(local.authenticate('alice', 'correct horse battery staple', '192.0.2.1')).rejects.toMatchObject({
      code: 'login_throttled',
    });
    await local.close();
  });

  it('defaults the account store to the session database file', () => {
    expect(accountStoreUrl(configSchema.parse(base))).toBe('sqlite:/var/lib/gatehouse/gatehouse.db');
    expect(accountStoreUrl(configSchema.parse({ ...base, local: { store: 'sqlite:/srv/accounts.db' } }))).toBe('sqlite:/srv/accounts.db');
  });
});
