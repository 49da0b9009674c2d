/**
 * Whether the caller still waits for an invocation: its deadline (`x-mlship-deadline-ms` or SageMaker's
 * custom attribute) has not passed and its connection is open. Work for a caller that has gone is
 * abandoned at the next step.
 *
 * Between steps a check is a clock read and a flag read. Only a step that can run long (image decoding)
 * asks for an AbortSignal, and only then are a controller, a timer and a close listener made: on the
 * tabular path they would cost a measurable share of a request's time, for steps of microseconds.
 */
import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { ApiError } from '../../contract/errors';

export class CallerWatch {
  private readonly deadlineAt: number | undefined;
  private controller: AbortController | undefined;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly deadlineMs: number | undefined,
  ) {
    this.deadlineAt = deadlineMs === undefined ? undefined : performance.now() + deadlineMs;
  }

  /** Throws BACKEND_TIMEOUT once the deadline has passed or the caller closed the connection. */
  check(): void {
    const reason = this.abandonReason();
    if (reason) throw reason;
  }

  /** Milliseconds until the deadline (0 once passed); undefined without one. */
  msLeft(): number | undefined {
    return this.deadlineAt === undefined ? undefined : Math.max(0, this.deadlineAt - performance.now());
  }

  /** A signal that aborts (with the BACKEND_TIMEOUT error) at the deadline or when the caller disconnects. */
  signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    const now = this.abandonReason();
    if (now) {
      controller.abort(now);
      return controller.signal;
    }
    const timer =
      this.deadlineAt === undefined ? undefined : setTimeout(() => controller.abort(this.expired()), this.deadlineAt - performance.now());
    this.res.once('close', () => {
      clearTimeout(timer);
      if (!this.res.writableFinished) controller.abort(gone());
    });
    return controller.signal;
  }

  private abandonReason(): ApiError | undefined {
    if (this.deadlineAt !== undefined && performance.now() >= this.deadlineAt) return this.expired();
    if (this.req.socket.destroyed) return gone();
    return undefined;
  }

  private expired(): ApiError {
    return new ApiError('BACKEND_TIMEOUT', `The caller's deadline of ${this.deadlineMs} ms passed.`);
  }
}

function gone(): ApiError {
  return new ApiError('BACKEND_TIMEOUT', 'The caller closed the connection.');
}
