/**
 * A bus link whose handlers and watches belong to a scope: an extension's `this.bus` (docs/extensions.md). Taking the
 * extension out disposes the scope, which unsubscribes every handler and closes every watch it still has open; one
 * the extension ended itself leaves the scope at once, so a long-lived extension does not pile them up.
 */
import { type DisposableStore, toDisposable } from "@neko/protocol";
import type { BusLink } from "./bus-connection.ts";

export function scopedBusLink(link: BusLink, scope: DisposableStore): BusLink {
  const watches = new Map<string, ReturnType<typeof toDisposable>>();
  return {
    on(type, handler) {
      const off = link.on(type, handler);
      const held = scope.add(toDisposable(off));
      return () => scope.delete(held);
    },
    open(namespace, filters, onDelta) {
      const opened = link.open(namespace, filters, onDelta);
      const held = toDisposable(() => {
        watches.delete(opened.watchId);
        link.close(opened.watchId);
      });
      // Kept before it joins the scope: a scope already disposed disposes it at once, which forgets it again.
      watches.set(opened.watchId, held);
      scope.add(held);
      return opened;
    },
    close(watchId) {
      const held = watches.get(watchId);
      if (held) scope.delete(held);
      else link.close(watchId);
    },
    emit: (type, payload, priority) => link.emit(type, payload, priority),
    flush: () => link.flush(),
    request: (method, params) => link.request(method, params),
    reportError: (message, error) => link.reportError(message, error),
  };
}
