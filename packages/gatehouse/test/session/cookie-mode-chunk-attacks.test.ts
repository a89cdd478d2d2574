/**
 * Cookie mode, attacks on how the session cookie is read: a split session with a part missing,
 * parts of two sessions put together, a part count that names parts never sent, and two values for
 * one cookie name (a cookie slipped in from a sibling subdomain). Each is no session: the exact
 * refusal, the session cookie and every part the request sent expired in the same answer, and the
 * genuine cookies still work afterwards.
 *
 * The split sessions are real sign-ins of accounts with 60 long roles (a directory-synced account
 * with many groups), which seal to two parts under the default 8192-byte ceiling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, PASSWORD, type TestGateway } from '../helpers/gateway.js';
import { BASE, cookieGateway, expectRefused, get, manyRoles, pairs } from './cookie-mode-fixture.js';

let gw: TestGateway;
/** Two sessions of carol and one of dave, each split into `chunks-2` + two parts. */
let carol1: string;
let carol2: string;
let dave: string;
/** alice's one-cookie session. */
let alice: string;

beforeAll(async () => {
  gw = await cookieGateway();
  const accounts = gw.gatehouse.local!.accounts;
  await accounts.add({ username: 'carol', password: PASSWORD, roles: manyRoles(60) });
  await accounts.add({ username: 'dave', password: PASSWORD, roles: manyRoles(60).reverse() });
  carol1 = await login(gw, 'carol');
  carol2 = await login(gw, 'carol');
  dave = await login(gw, 'dave');
  alice = await login(gw);
  for (const split of [carol1, carol2, dave]) expect(pairs(split).map(([name, value]) => (name === BASE ? value : name))).toEqual(['chunks-2', `${BASE}-c1`, `${BASE}-c2`]);
  expect(pairs(alice)).toHaveLength(1);
});
afterAll(() => gw.close());

/** The value of one cookie of a header. */
const part = (cookie: string, name: string) => pairs(cookie).find(([n]) => n === name)?.[1] as string;
const header = (...cookies: [string, string][]) => cookies.map(([n, v]) => `${n}=${v}`).join('; ');
const c = (n: number) => `${BASE}-c${n}`;

async function expectGenuineStillWork(): Promise<void> {
  for (const [cookie, username] of [[carol1, 'carol'], [carol2, 'carol'], [dave, 'dave'], [alice, 'alice']] as const) {
    const res = await get(gw, cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.username).toBe(username);
  }
}

describe('a split session with parts missing', () => {
  it('control: base + both parts → 200 with all 60 roles', async () => {
    const res = await get(gw, carol1);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.roles).toEqual(manyRoles(60));
  });

  it('the second part missing → 401; the base and the part sent are expired', async () => {
    expectRefused(await get(gw, header([BASE, 'chunks-2'], [c(1), part(carol1, c(1))])), [1]);
  });

  it('the first part missing → 401; the base and the part sent are expired', async () => {
    expectRefused(await get(gw, header([BASE, 'chunks-2'], [c(2), part(carol1, c(2))])), [2]);
  });

  it('a part present but empty → 401', async () => {
    expectRefused(await get(gw, header([BASE, 'chunks-2'], [c(1), part(carol1, c(1))], [c(2), ''])), [1, 2]);
  });

  it('the parts without the base cookie → 401, nothing issued', async () => {
    const res = await get(gw, header([c(1), part(carol1, c(1))], [c(2), part(carol1, c(2))]));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: 'unauthenticated', message: 'Sign-in required.' });
    // Only chunks: not a session cookie the browser holds as such; nothing is re-issued either.
    expect([res.headers['set-cookie'] ?? []].flat().filter((h) => /^__Host-gatehouse(-c\d)?=[^;]/.test(h))).toEqual([]);
  });

  it('chunks-9 with no parts at all → 401, the base expired', async () => {
    expectRefused(await get(gw, header([BASE, 'chunks-9'])));
  });

  it('chunks-3 naming a third part never sent → 401, the two parts sent expired', async () => {
    expectRefused(await get(gw, header([BASE, 'chunks-3'], [c(1), part(carol1, c(1))], [c(2), part(carol1, c(2))])), [1, 2]);
  });

  it('chunks-1 while two parts are sent (the value cut at the first part) → 401, both parts expired', async () => {
    expectRefused(await get(gw, header([BASE, 'chunks-1'], [c(1), part(carol1, c(1))], [c(2), part(carol1, c(2))])), [1, 2]);
  });

  it('chunks-0 and chunks-10 (outside what the gateway writes) → 401', async () => {
    for (const count of ['chunks-0', 'chunks-10']) {
      expectRefused(await get(gw, header([BASE, count], [c(1), part(carol1, c(1))], [c(2), part(carol1, c(2))])), [1, 2]);
    }
  });
});

describe('parts of different sessions put together', () => {
  const mixes: [string, () => [string, string][]][] = [
    ["carol's first part + carol's other session's second part", () => [[c(1), part(carol1, c(1))], [c(2), part(carol2, c(2))]]],
    ["carol's other session's first part + carol's second part", () => [[c(1), part(carol2, c(1))], [c(2), part(carol1, c(2))]]],
    ["carol's first part + dave's second part", () => [[c(1), part(carol1, c(1))], [c(2), part(dave, c(2))]]],
    ['the two parts swapped', () => [[c(1), part(carol1, c(2))], [c(2), part(carol1, c(1))]]],
  ];
  for (const [name, parts] of mixes) {
    it(`${name} → 401, base and both parts expired`, async () => {
      expectRefused(await get(gw, header([BASE, 'chunks-2'], ...parts())), [1, 2]);
    });
  }

  it("a one-cookie session's value split across parts of a chunked header, or appended to one → 401", async () => {
    const value = part(alice, BASE);
    const half = Math.floor(value.length / 2);
    expectRefused(await get(gw, header([BASE, 'chunks-2'], [c(1), value.slice(0, half)], [c(2), part(carol1, c(2))])), [1, 2]);
    expectRefused(await get(gw, header([BASE, 'chunks-2'], [c(1), part(carol1, c(1))], [c(2), value])), [1, 2]);
    await expectGenuineStillWork();
  });
});

describe('two values for one cookie name', () => {
  it('two base cookies with different values (both genuine sessions) → 401, no session chosen, the cookie expired', async () => {
    const bob = await login(gw, 'bob');
    expectRefused(await get(gw, `${alice}; ${bob}`));
    expectRefused(await get(gw, `${bob}; ${alice}`));
    // A garbage copy beside the genuine one also means no session (either order).
    expectRefused(await get(gw, `${alice}; ${BASE}=x`));
    expectRefused(await get(gw, `${BASE}=x; ${alice}`));
  });

  it('a second base cookie beside a split session → 401, base and parts expired', async () => {
    expectRefused(await get(gw, `${carol1}; ${alice}`), [1, 2]);
  });

  it('a part sent twice with different values → 401', async () => {
    const doubled = header([BASE, 'chunks-2'], [c(1), part(carol1, c(1))], [c(1), part(carol2, c(1))], [c(2), part(carol1, c(2))]);
    expectRefused(await get(gw, doubled), [1, 2]);
    await expectGenuineStillWork();
  });
});
