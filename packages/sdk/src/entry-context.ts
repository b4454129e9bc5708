/** The second argument of every entry handler. */
export interface EntryContext {
  /** Aborted when the call's timeout expires or the caller cancels it. */
  readonly signal: AbortSignal;
  readonly entryId: string;
  readonly callId: string;
  /** Absolute deadline, ms since the epoch. */
  readonly deadline: number;
}
