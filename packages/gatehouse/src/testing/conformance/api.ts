import type { SessionStore } from '../../session/model.js';

/** What a backend hands the suite for one test. */
export interface StoreUnderTest {
  store: SessionStore;
  /** Open a new store over the same data (a restart). Only for persistent backends. */
  reopen?: () => Promise<SessionStore>;
  /** Release everything (files, connections). Runs after each test, even when the store is closed. */
  cleanup: () => Promise<void>;
}

/** The matchers the suite uses: a subset of vitest's (and Jest's) `expect`. */
export interface ConformanceAssertion {
  toBe(expected: unknown): void;
  toBeNull(): void;
  toStrictEqual(expected: unknown): void;
  toHaveLength(length: number): void;
  toBeInstanceOf(expected: unknown): void;
  resolves: { toBeUndefined(): Promise<unknown> };
  rejects: { toMatchObject(expected: object): Promise<unknown> };
}

/** The test framework the suite runs in: pass vitest's functions (`import * as vitest from 'vitest'`). */
export interface ConformanceTestApi {
  describe(name: string, body: () => void): unknown;
  /** A test; the suite skips the optional-method tests with `ctx.skip()`, as vitest provides it. */
  it(name: string, body: (ctx: { skip(): void }) => Promise<void>): unknown;
  beforeEach(hook: () => Promise<void>): unknown;
  afterEach(hook: () => Promise<void>): unknown;
  expect(actual: unknown, message?: string): ConformanceAssertion;
}

/** What each group of cases sees of the running suite. */
export interface ConformanceSuite {
  readonly it: ConformanceTestApi['it'];
  readonly expect: ConformanceTestApi['expect'];
  /** The store of the running test (opened fresh by the factory before each test). */
  readonly store: SessionStore;
  /** What the factory returned for the running test (`reopen`, `cleanup`). */
  readonly sut: StoreUnderTest;
  /** The fake clock: every store of the suite reads this time; a test moves it by assigning. */
  now: number;
}
