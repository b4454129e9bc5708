// Run from a freshly made startup snapshot (plugin-snapshot.mjs) under the permission model and with the warnings a
// plugin process turns off: says "ok" when the SDK's runtime is in it, Node's checks of the permission model written
// in JavaScript are on (they read once whether the model is on: a snapshot made after one had read it would leave
// them off), a warning turned off stays off (Node reads `--disable-warning` once, at the first warning), and a thread
// starts (a snapshot that loaded worker_threads as it was made breaks every thread of a process started from it).
import fs from "node:fs";
import { Worker } from "node:worker_threads";

const runtime = /** @type {Record<symbol, { start?: unknown } | undefined>} */ (globalThis)[
  Symbol.for("neko-plugin.snapshot")
];

/** Whether fsync of stdout is refused as the permission model refuses it (a check in JavaScript). */
function fsyncRefused() {
  try {
    fs.fsyncSync(1);
    return false;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === "ERR_ACCESS_DENIED";
  }
}

/** Whether an ExperimentalWarning or a SecurityWarning, turned off, is printed all the same. */
async function warningPrinted() {
  const write = process.stderr.write;
  let printed = false;
  process.stderr.write = /** @type {typeof write} */ (
    (/** @type {unknown} */ chunk, /** @type {never[]} */ ...rest) => {
      if (String(chunk).includes("neko-snapshot-probe")) printed = true;
      return write.call(process.stderr, /** @type {string} */ (chunk), ...rest);
    }
  );
  process.emitWarning("neko-snapshot-probe", "ExperimentalWarning");
  process.emitWarning("neko-snapshot-probe", "SecurityWarning");
  await new Promise((resolve) => setImmediate(resolve));
  process.stderr.write = write;
  return printed;
}

if (typeof runtime?.start !== "function") {
  process.stdout.write("no runtime");
} else if (process.permission === undefined || !fsyncRefused()) {
  process.stdout.write("the permission model's checks in JavaScript are off");
} else if (await warningPrinted()) {
  process.stdout.write("a warning turned off is printed");
} else {
  const worker = new Worker('require("node:worker_threads").parentPort.postMessage(process.cwd())', { eval: true });
  worker.once("message", () => {
    process.stdout.write("ok");
    void worker.terminate();
  });
  worker.once("error", (error) => process.stdout.write(`a thread fails: ${error.message}`));
}
