import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../src/config/schema.js';
import { userFromClaims } from '../../src/oidc/claims.js';

const provider = { id: 'idp', claims: { username: 'preferred_username', name: 'name', email: 'email', roles: 'roles' } } as unknown as ProviderConfig;

describe('userFromClaims', () => {
  it('maps the configured claims; identity is <provider>:<sub>', () => {
    const user = userFromClaims(provider, { sub: 's1', preferred_username: 'ada', name: 'Ada', email: 'ada@x.test', roles: ['a', 'b', 'a'] });
    expect(user).toStrictEqual({ id: 'idp:s1', username: 'ada', name: 'Ada', email: 'ada@x.test', roles: ['a', 'b'] });
  });

  it('leaves out display claims and roles with control characters (NUL, newline, DEL) instead of storing them', () => {
    const user = userFromClaims(provider, {
      sub: 's1',
      preferred_username: 'ada\u0000',
      name: 'Ada\nLovelace',
      email: 'ada@x.test\u007f',
      roles: ['user', 'ad\u0000min', 'ops\r'],
    });
    expect(user).toStrictEqual({ id: 'idp:s1', roles: ['user'] });
  });

  it('UserInfo claims win over the ID token, but never the sub', () => {
    const user = userFromClaims(provider, { sub: 's1', name: 'Old' }, { sub: 'other', name: 'New' });
    expect(user.id).toBe('idp:s1');
    expect(user.name).toBe('New');
  });
});
