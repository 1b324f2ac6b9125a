// Jobs run one at a time: the executor is memory-hungry and timings of concurrent runs would be
// meaningless. A job aborted while it waits leaves the queue at once.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Jobs waiting or running. */
  get length(): number {
    return this.pending;
  }

  enqueue<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const previous = this.tail;
    this.pending++;
    const result = new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      void previous.then(() => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return; // already rejected while waiting
        return work().then(resolve, reject);
      });
    });
    const done = result.then(() => undefined, () => undefined);
    // The next job waits for this one's work to finish (not merely for its rejection while it waited).
    this.tail = Promise.all([previous, done]);
    void done.then(() => this.pending--);
    return result;
  }
}
