// Startup snapshots of the SDK's runtime (on unless `NEKO_PLUGIN_SNAPSHOT=off`; docs/architecture.md "Startup
// snapshot"). Node evaluates the snapshot script of an SDK link for snapshots (plugin-link.mjs) into a blob; a plugin
// process started with `--snapshot-blob <blob>` has the runtime loaded before its first line, and skips the start's
// slowest part: loading and evaluating the SDK (src/runtime/snapshot-main.ts).
//
// V8 takes a snapshot only under the flags it was made with, and the heap limit (`--max-old-space-size`) is one: a
// blob is made per heap limit, Node binary and NODE_OPTIONS, `<script's link key>.heap-<MiB>.<tag>.snapshot` beside
// the links in the cache. Each is made under a temporary name, tried (a process started from it must find the runtime
// in it, start a thread, and have Node's checks of the permission model on and its turned-off warnings off) and only
// then renamed into place; a blob this process did not make, or that changed since it was tried, is tried before its
// first use and made again if it fails: Node cannot start from a damaged blob (it crashes), so a process is never
// pointed at one that was not seen to start.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { lstat, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** How long making a blob may take before it is given up (the plugin then starts without one). */
const BUILD_TIMEOUT_MS = 60_000;
/** How long trying a blob may take: a process started from it answers in a fraction of a second. */
const PROBE_TIMEOUT_MS = 10_000;
/** How long a blob that could not be made is not tried again. */
const RETRY_MS = 10 * 60 * 1000;
/**
 * A blob's name: its snapshot script's link key, the heap limit it was made under, and a tag of the Node binary and
 * of `NODE_OPTIONS` (whose V8 flags a blob must be made under too).
 */
const BLOB_NAME = /^([0-9a-f]{40})\.heap-(\d+)\.([0-9a-f]{12})\.snapshot$/;
/** A blob being made: its name, the maker's pid and a random tag. */
const TEMPORARY = /^(.+)\.\d+\.[0-9a-f]{8}\.tmp$/;
const PROBE = fileURLToPath(new URL("./snapshot-probe.mjs", import.meta.url));
/**
 * What a blob is tried under besides its heap limit: the permission model and the warnings the host turns off, as a
 * plugin process has them. Node's own modules read some of their options once, when first used, and a snapshot keeps
 * what they read as it was made (whether the permission model is on, for its checks written in JavaScript: `fs.lstat`,
 * `fs.symlink`, `fs.fsync`, …; which warnings are off): the probe finds a blob that would leave those checks off, or
 * print those warnings, in a plugin process. (A blob cannot be made under the permission model: a process started
 * from it then fails defining `process.permission` again.)
 */
export const PROBE_FLAGS = [
  "--experimental-permission",
  "--allow-fs-read=*",
  "--allow-worker",
  "--disable-warning=ExperimentalWarning",
  "--disable-warning=SecurityWarning",
];

/** @type {Map<string, Promise<{ ok: true; blob: string } | { ok: false; reason: string }>>} */
const making = new Map();
/** Each blob this process made or tried, with its size, time and inode then (`signatureOf`). */
const tried = new Map();
/**
 * Each blob this process could not make: why, when, and what was at its path then (`signatureOf`; a blob another
 * host puts there since is tried at once).
 * @type {Map<string, { reason: string; at: number; found: string | null | undefined }>}
 */
const failed = new Map();

/**
 * The blob of `script` (a link's snapshot.cjs) for processes whose heap limit is `heapMb` and whose environment is
 * `env`, made when it is not there.
 * @type {typeof import("./plugin-snapshot.mjs").startupSnapshot}
 */
export async function startupSnapshot(options) {
  const { script, heapMb } = options;
  if (!Number.isSafeInteger(heapMb) || heapMb <= 0) return { ok: false, reason: `no heap limit in MiB: ${heapMb}` };
  // msgpackr's native extractor stays out, as in a plugin process (bin/load-plugin-runtime.mjs): the snapshot's
  // msgpackr decides as the snapshot is made.
  const env = { ...(options.env ?? process.env), MSGPACKR_NATIVE_ACCELERATION_DISABLED: "true" };
  const blob = snapshotBlobPath({ script, heapMb, env });
  if (!BLOB_NAME.test(path.basename(blob))) return { ok: false, reason: `not a link's snapshot script: ${script}` };
  const signature = signatureOf(blob);
  // Something else at its path (a folder, a symbolic link, a FIFO): not read, not removed, not used.
  if (signature === null) return { ok: false, reason: `${blob} is not a regular file` };
  if (signature !== undefined && tried.get(blob) === signature) return { ok: true, blob };
  const failure = failed.get(blob);
  if (failure !== undefined && failure.found === signature && Date.now() - failure.at < RETRY_MS) {
    return { ok: false, reason: failure.reason };
  }
  let made = making.get(blob);
  if (made === undefined) {
    made = ensureBlob(script, blob, heapMb, env)
      .catch((/** @type {unknown} */ error) => ({ ok: /** @type {const} */ (false), reason: String(error) }))
      .then((outcome) => {
        making.delete(blob);
        if (outcome.ok) failed.delete(blob);
        else failed.set(blob, { reason: outcome.reason, at: Date.now(), found: signatureOf(blob) });
        return outcome;
      });
    making.set(blob, made);
  }
  return made;
}

/**
 * Where the blob of `script` for processes with a heap limit of `heapMb` MiB and the environment `env` is.
 * @type {typeof import("./plugin-snapshot.mjs").snapshotBlobPath}
 */
export function snapshotBlobPath(options) {
  const env = { ...(options.env ?? process.env), MSGPACKR_NATIVE_ACCELERATION_DISABLED: "true" };
  const linkDir = path.dirname(options.script);
  const key = path.basename(linkDir).replace(/\.link$/, "");
  return path.join(path.dirname(linkDir), `${key}.heap-${options.heapMb}.${binaryTag(env)}.snapshot`);
}

/**
 * Forgets that `blob` was tried (or could not be made): the next ask tries it again (a process could not start from it).
 * @type {typeof import("./plugin-snapshot.mjs").forgetSnapshot}
 */
export function forgetSnapshot(blob) {
  tried.delete(blob);
  failed.delete(blob);
}

/** The Node binary, found once: V8 refuses a snapshot made by another build, even of the same version. */
let binary;

/**
 * A tag of the Node binary and of `env.NODE_OPTIONS` (its V8 flags, which a blob must be made under): a blob made by
 * one binary, or under other flags, and found in a shared cache by another host is never tried by it.
 * @param {NodeJS.ProcessEnv} env
 */
function binaryTag(env) {
  if (binary === undefined) {
    binary = `${process.execPath}\0${process.version}\0${process.arch}`;
    try {
      const { size, mtimeMs } = fs.statSync(process.execPath);
      binary += `\0${size}\0${mtimeMs}`;
    } catch {
      // not found: its path and version tell it apart
    }
  }
  return createHash("sha256")
    .update(`${binary}\0${env.NODE_OPTIONS ?? ""}`)
    .digest("hex")
    .slice(0, 12);
}

/**
 * A blob's size, time (in whole ms) and inode; undefined when there is nothing at its path, null when what is there is
 * no regular file.
 * @param {string} blob
 * @returns {string | null | undefined}
 */
function signatureOf(blob) {
  try {
    const stat = fs.lstatSync(blob);
    return stat.isFile() ? `${stat.size}:${Math.trunc(stat.mtimeMs)}:${stat.ino}` : null;
  } catch {
    return undefined;
  }
}

/**
 * The blob, tried when it is there (made by another host, or by this one before it restarted), made when it is not
 * or when it did not start (the new one renamed over it: a host using it meanwhile never finds it missing).
 * @param {string} script
 * @param {string} blob
 * @param {number} heapMb
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ ok: true; blob: string } | { ok: false; reason: string }>}
 */
async function ensureBlob(script, blob, heapMb, env) {
  const heap = `--max-old-space-size=${heapMb}`;
  const temporary = `${blob}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const found = signatureOf(blob);
    if (found === null) return { ok: false, reason: `${blob} is not a regular file` };
    if (found !== undefined && (await probe(blob, heap, env)) === undefined) {
      tried.set(blob, found);
      return { ok: true, blob };
    }
    await run([heap, "--snapshot-blob", temporary, "--build-snapshot", script], env, BUILD_TIMEOUT_MS);
    fs.chmodSync(temporary, 0o600);
    const problem = await probe(temporary, heap, env);
    if (problem !== undefined) return { ok: false, reason: problem };
    fs.renameSync(temporary, blob);
    tried.set(blob, signatureOf(blob));
    return { ok: true, blob };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message.split("\n")[0] : String(error) };
  } finally {
    try {
      fs.rmSync(temporary, { force: true });
    } catch {
      // the cache folder gone or replaced meanwhile: nothing of ours is left in it
    }
  }
}

/**
 * Starts Node from `blob` (under `PROBE_FLAGS`): undefined when the runtime is there, a thread starts, and Node's
 * checks and warnings are as the flags say (snapshot-probe.mjs), else what went wrong.
 * @param {string} blob
 * @param {string} heap
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<string | undefined>}
 */
async function probe(blob, heap, env) {
  try {
    const said = (await run([heap, ...PROBE_FLAGS, "--snapshot-blob", blob, PROBE], env, PROBE_TIMEOUT_MS)).trim();
    return said === "ok" ? undefined : `a process started from it said ${JSON.stringify(said)}`;
  } catch (error) {
    return `a process started from it failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
  }
}

/**
 * Runs Node with `args`; resolves to its output, rejects with what it wrote to stderr when it fails.
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @param {number} timeoutMs
 * @returns {Promise<string>}
 */
function run(args, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env, timeout: timeoutMs, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${error.message.split("\n")[0]}: ${stderr.trim().split("\n").slice(-3).join(" / ")}`));
    });
  });
}

/**
 * Removes the blobs of `cacheDir` (whose entries are `names`) whose snapshot script's link is gone (pruned), and those
 * left half made (by a process that died making them) before `cutoff` (ms since the epoch); resolves to how many went.
 * A running process read its blob when it started: none is kept for one.
 * @type {typeof import("./plugin-snapshot.mjs").pruneSnapshots}
 */
export async function pruneSnapshots(cacheDir, names, cutoff) {
  let removed = 0;
  for (const name of names) {
    const temporary = TEMPORARY.exec(name);
    const match = BLOB_NAME.exec(temporary === null ? name : temporary[1]);
    if (match === null) continue;
    const file = path.join(cacheDir, name);
    try {
      if (
        temporary !== null
          ? (await lstat(file)).mtimeMs >= cutoff
          : fs.existsSync(path.join(cacheDir, `${match[1]}.link`))
      ) {
        continue;
      }
      await rm(file, { force: true });
      removed += 1;
    } catch {
      // gone already
    }
  }
  return removed;
}
