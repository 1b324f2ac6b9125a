// Jobs run one at a time: the executor is memory-hungry and timings of concurrent runs would be
// meaningless. A job aborted while it waits leaves the queue at once.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  get length(): number {
    return this.waiting;
  }

  enqueue<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    this.waiting++;
    const previous = this.tail;
    const result = new Promise<T>((resolve, reject) => {
      let started = false;
      const onAbort = () => {
        if (started) return;
        this.waiting--;
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      previous.then(() => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return; // already rejected while waiting
        started = true;
        this.waiting--;
        return work().then(resolve, reject);
      });
    });
    // The next job waits for this one to finish, whatever its outcome.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
