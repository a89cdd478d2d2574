import { describe, expect, it } from 'vitest';
import { createMemoryCoordination } from '../../src/backends/coordination/memory.js';
import { fakeClock } from '../local/fake-clock.js';
import { runCoordinationConformance } from './conformance.js';

runCoordinationConformance('memory', async () => {
  const clock = fakeClock();
  // One process: every "instance" is the same backend, which is what one gateway shares.
  const coordination = createMemoryCoordination({ clock });
  return {
    instance: () => coordination,
    clock,
    passTime: async (ms) => clock.advance(ms),
    exactClock: true,
    cleanup: () => coordination.close(),
  };
});

describe('memory coordination: one-time marks at scale (login callbacks)', () => {
  it('150 000 marks of one TTL over 15 minutes (50 000 live at a time): each refused while live, free again at its expiry to the millisecond', async () => {
    const clock = fakeClock();
    const coordination = createMemoryCoordination({ clock, maxKeys: 100_000 });
    const TTL = 5 * 60_000;
    const batch = 10_000;
    for (let minute = 0; minute < 15; minute++) {
      for (let i = 0; i < batch; i++) expect(await coordination.claimOnce(`login-tx:${minute}:${i}`, TTL)).toBe(true);
      // Sampled: the marks of the last five minutes are live; those made five minutes ago have
      // just expired (claiming one again makes it live anew, so each batch is sampled as expired once).
      for (let past = Math.max(0, minute - 5); past <= minute; past++) {
        const expired = minute - past >= 5;
        for (const i of [0, 1, batch / 2, batch - 1]) expect(await coordination.claimOnce(`login-tx:${past}:${i}`, TTL)).toBe(expired);
      }
      clock.advance(60_000);
    }
    // The last millisecond before expiry still refuses; the next one frees.
    clock.advance(-60_000);
    await coordination.claimOnce('edge', TTL);
    clock.advance(TTL - 1);
    expect(await coordination.claimOnce('edge', TTL)).toBe(false);
    clock.advance(1);
    expect(await coordination.claimOnce('edge', TTL)).toBe(true);
    await coordination.close();
  });

  it('bounded: beyond maxKeys the stalest mark is dropped; marks never push values (sid → user) out', async () => {
    const clock = fakeClock();
    const coordination = createMemoryCoordination({ clock, maxKeys: 100 });
    await coordination.put('bcl-sid:test:s1', 'test:ada', 12 * 3600_000);
    for (let i = 0; i < 101; i++) expect(await coordination.claimOnce(`m${i}`, 60_000)).toBe(true);
    expect(await coordination.claimOnce('m0', 60_000)).toBe(true); // dropped as the stalest
    expect(await coordination.claimOnce('m100', 60_000)).toBe(false);
    expect(await coordination.get('bcl-sid:test:s1')).toBe('test:ada');
    await coordination.close();
  });
});
