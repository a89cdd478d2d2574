export { createMemoryCoordination, type MemoryCoordinationOptions } from './memory.js';
export type { Coordination, Lock } from './types.js';
