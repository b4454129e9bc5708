/**
 * Child process of the Moleculer row (started by moleculer-echo.ts): a broker with one `bench.echo` action that
 * returns its params, on the TCP transporter (no UDP discovery: the caller connects to the port this sends it).
 */
import moleculer from "moleculer";
import { moleculerBrokerOptions } from "./moleculer-options.ts";

const broker = new moleculer.ServiceBroker(moleculerBrokerOptions({ nodeID: "bench-echo", urls: [] }));
broker.createService({
  name: "bench",
  actions: {
    echo(ctx) {
      return ctx.params;
    },
  },
});
// Our parent holds the IPC channel: when it goes (even by kill -9), so do we.
process.on("disconnect", () => {
  void broker.stop().finally(() => process.exit(0));
});
await broker.start();
// The TCP transporter listens on a random port (port: null) and writes the one it got back into its options.
const transporter = (broker.transit as unknown as { tx: { opts: { port: number } } }).tx;
process.send?.({ port: transporter.opts.port });
