/**
 * What the parts of the local system share: each starts what it needs, returns its endpoints and a
 * `stop()`, and stops what it had started when its own start fails part-way. The system composes the parts
 * on one such stack, so it stops them in reverse order, as a CloudFormation delete removes dependent
 * stacks first.
 */

export interface Stoppable {
  /** Stops what the part started, last started first; a second call waits for the first. */
  stop(): Promise<void>;
}

/** A component a fault test can take down and bring back on the same port. */
export interface Switchable {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The stops of what has started so far, run last registered first. */
export class StopStack {
  private readonly stops: (() => Promise<void>)[] = [];

  /** Registers how to undo what has just started. */
  defer(stop: () => unknown): void {
    this.stops.push(async () => {
      await stop();
    });
  }

  /** Registers a started part's stop and returns the part. */
  add<T extends Stoppable>(part: T): T {
    this.defer(() => part.stop());
    return part;
  }

  /** Runs every stop, last registered first, each once; every stop runs even when one fails, and the first failure is thrown. */
  async stopAll(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (let stop = this.stops.pop(); stop !== undefined; stop = this.stops.pop()) {
      await stop().catch((error: unknown) => {
        failure ??= { error };
      });
    }
    if (failure) throw failure.error;
  }
}

/**
 * Runs a part's start on a stack of its own. When the start throws, what it had started is stopped (those
 * errors give way to the start's own) and the error is thrown; otherwise the part comes back with its stop().
 */
export async function startPart<T extends object>(start: (started: StopStack) => Promise<T>): Promise<T & Stoppable> {
  const started = new StopStack();
  let part: T;
  try {
    part = await start(started);
  } catch (e) {
    await started.stopAll().catch(() => undefined);
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    ...part,
    stop: () => {
      stopping ??= started.stopAll();
      return stopping;
    },
  };
}
