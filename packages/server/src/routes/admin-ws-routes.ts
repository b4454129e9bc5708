/**
 * `WS /ws/admin` (SPEC §5.1): what the manager page shows live. A `hello` with the server's facts and every plugin's
 * state, then a message per plugin state change, per run change, per bus record, and every plugin's metrics on an
 * interval. Message shapes in docs/http-api.md#ws-wsadmin.
 */
import type { PluginHostApi } from "@neko/host";
import type { RouteDoc } from "../openapi/route-doc.ts";
import type { WebSocketHub } from "../websocket-hub.ts";
import { serverInfo } from "./health-routes.ts";

export const DEFAULT_ADMIN_METRICS_INTERVAL_MS = 5000;

const adminDoc: RouteDoc = {
  tag: "websockets",
  summary: "Live plugin states, runs, bus records and metrics (a WebSocket)",
  description:
    "JSON text frames: first `{ type: 'hello', server, plugins: [{ id, status, status_reason }] }`, then " +
    "`{ type: 'status', plugin_id, status, reason, time }`, `{ type: 'run', run }` (as `GET /runs/{id}`), " +
    "`{ type: 'bus', namespace, record }`, `{ type: 'bus_delete', namespace, ids }` (records deleted by their " +
    "writers) and every few seconds `{ type: 'metrics', plugins }` (as " +
    "`GET /plugin/metrics`). With an API token, a browser offers `Sec-WebSocket-Protocol: neko.bearer, <token>`. " +
    "A client that leaves more than 1 MiB unread is closed with 1013; messages from the client are answered " +
    "with `{ type: 'error' }`.",
  responses: { 101: { description: "the upgrade: the socket sends the messages above" } },
  errors: {
    400: "`BAD_REQUEST`: a plain GET, without a WebSocket upgrade",
    403: "`CROSS_ORIGIN_REFUSED`: the upgrade comes from another site's page (its `Origin`)",
    503: "`TOO_MANY_CLIENTS`: the server has as many WebSocket clients as it accepts (`details.limit`)",
  },
};

export function registerAdminWsRoutes(
  hub: WebSocketHub,
  host: PluginHostApi,
  options: { startedAt: number; metricsIntervalMs: number },
): void {
  hub.route({
    url: "/ws/admin",
    doc: adminDoc,
    open: (client) => {
      const plugins = host.listPlugins().map(({ id, status, status_reason }) => ({ id, status, status_reason }));
      client.send({ type: "hello", server: serverInfo(host, options.startedAt), plugins });
      client.own(
        host.events.onStateChange(({ pluginId, change }) =>
          client.send({
            type: "status",
            plugin_id: pluginId,
            status: change.state,
            reason: change.reason ?? null,
            time: new Date(change.time).toISOString(),
          }),
        ),
      );
      client.own(host.runs.onChange((run) => client.send({ type: "run", run })));
      client.own(host.bus.onRecord((record) => client.send({ type: "bus", namespace: record.namespace, record })));
      client.own(host.bus.onDelete(({ namespace, ids }) => client.send({ type: "bus_delete", namespace, ids })));
      const metrics = setInterval(
        () => client.send({ type: "metrics", plugins: host.metrics.list() }),
        options.metricsIntervalMs,
      );
      client.own({ dispose: () => clearInterval(metrics) });
    },
  });
}
