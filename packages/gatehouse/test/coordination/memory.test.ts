import { createMemoryCoordination } from '../../src/coordination/memory.js';
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
