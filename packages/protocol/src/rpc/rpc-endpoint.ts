/**
 * Both halves of the request/response engine over one connection, as the MCP SDK's `Protocol` sits over its
 * `Transport`: the calls this side makes (`PendingCalls`) and the peer's requests it serves (`ServedRequests`), closed
 * together when the peer goes away. The host keeps one per plugin process. The SDK's halves live apart — its requests
 * in the `HostClient`, the host's calls in the `PluginRuntime`, which runs calls of its own (auto-started entries)
 * before and without a connection — but they are these same two classes.
 */
import type { WireResult } from "../messages.ts";
import { PendingCalls, type PendingCallsOptions } from "./pending-calls.ts";
import { ServedRequests } from "./served-requests.ts";

export class RpcEndpoint<Out> {
  readonly calls: PendingCalls<Out>;
  readonly served = new ServedRequests();

  constructor(options: PendingCallsOptions<Out>) {
    this.calls = new PendingCalls(options);
  }

  /** The peer is gone: its waiting calls are answered with `answer`, the work for its requests stops. */
  close(answer: (id: string) => WireResult, reason?: unknown): void {
    this.calls.close(answer);
    this.served.close(reason);
  }
}
