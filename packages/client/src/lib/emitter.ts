/** A minimal typed event emitter: `on` returns the unsubscribe function. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    // A copy: a listener that unsubscribes (or subscribes) while we iterate changes the next emit only.
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch (error) {
        // One failing listener must not keep the others (e.g. the sign-in page) from hearing the
        // event. The error still surfaces: reportError (HTML, "report the exception") sends it to
        // window.onerror as an uncaught one; where there is none, an uncaught throw does.
        const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
        if (report) report(error);
        else
          globalThis.setTimeout(() => {
            throw error;
          }, 0);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
