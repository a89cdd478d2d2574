// Shared by the server processes run.mjs forks: talk to the parent over IPC, die with it.

/** Exits when the parent goes away (crash, kill -9): a benchmark never leaves servers behind. */
export function exitWithParent() {
  if (!process.send) throw new Error('run this file through bench/run.mjs (it needs an IPC channel)');
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

/** Tells the parent the server is listening (or failed). */
export function report(message) {
  process.send?.({ type: 'ready', ...message });
}
