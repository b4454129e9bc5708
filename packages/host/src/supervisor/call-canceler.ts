/**
 * Cancels one entry call from outside it (a run's cancel). A plain object, not an AbortSignal: on Node 20 an
 * AbortSignal costs several µs to make and listen to, plus its garbage, and every trigger is a run.
 */
export class CallCanceler {
  private sendCancel: (() => void) | undefined;
  private requested = false;

  /** True once `cancel()` was called: a call not sent yet is answered CANCELED instead of being sent. */
  get canceled(): boolean {
    return this.requested;
  }

  /** Asks the plugin to cancel the call it was sent; later calls do nothing. */
  cancel(): void {
    if (this.requested) return;
    this.requested = true;
    this.sendCancel?.();
  }

  /** Called once the call is sent, by the process that sent it: how to ask the plugin to cancel it. */
  attach(sendCancel: () => void): void {
    this.sendCancel = sendCancel;
  }
}
