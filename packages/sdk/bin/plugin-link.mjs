// Linked sources: a plugin process that needs no module hooks. The host compiles the SDK's runtime and a plugin's
// sources ahead of time into ES modules in the compile cache whose imports are already resolved (absolute file URLs:
// `@neko/plugin-sdk/*` to the SDK's compiled modules, `./util.js` to the compiled `util.ts`, `zod` to the file Node
// would load). The runner then imports them as they are: no loader thread, no compile, no resolve hook (about 13 MiB
// and a good part of a cold start; docs/benchmarks.md). Anything this cannot link as Node and the hooks would run it
// (an unresolvable import, a compile error, a computed `import()`, `import.meta` but .url/.filename/.dirname) gives no link, and the
// process takes the hooks' path, which behaves (and reports errors) as before.
//
// A link is one folder `<cache>/<key>.link/` of compiled files, named by a hash of everything in it: a link is never
// changed once written, so a process reads either the whole old one or the whole new one. Only the host writes it.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { lstat, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pruneSnapshots } from "./plugin-snapshot.mjs";
import { isTypeScript, withEsbuild } from "./ts-compile-cache.mjs";

/** @import * as Declared from "./plugin-link.mjs" */

const require = createRequire(import.meta.url);
/** Bump when the output below changes. */
const FORMAT = 6;
const TARGET = `node${process.versions.node}`;
const ESBUILD_VERSION = require("esbuild/package.json").version;
const SDK = "@neko/plugin-sdk";
const SDK_DIR = fileURLToPath(new URL("..", import.meta.url));
const SELF_DIR = fileURLToPath(new URL(".", import.meta.url));
/** The SDK's and the protocol package's sources: a plugin's link uses the SDK's link of them, never a copy. */
const FRAMEWORK_DIRS = [SDK_DIR, path.dirname(path.dirname(fs.realpathSync(require.resolve("@neko/protocol"))))];
/** Written where a compiled module imports another compiled one of the same link, until the link's folder is known. */
const PLACEHOLDER = "neko-link-placeholder:/";
const PLUGIN_SOURCE = /\.(ts|mts|js|mjs)$/;
/**
 * What esbuild says of an `import(…)` or `require(…)` whose argument is not a string it can read (a variable, a
 * template with a `${…}`, a concatenation it cannot fold): such a module is resolved when it runs, from the file's own
 * place, which a compiled copy in the cache is not. esbuild keeps these at "debug" level; here they are warnings.
 */
const COMPUTED_IMPORT_MESSAGES = ["unsupported-dynamic-import", "unsupported-require-call", "empty-glob"];
/**
 * Code that evaluates text (`eval(…)`, `new Function(…)`) with an `import(` anywhere in the module: the name it
 * imports is computed where the text runs, which esbuild cannot see. Refused whenever both appear (conservative: a
 * comment or a string counts too; the hooks then load the plugin, resolving from its own place).
 */
const EVALUATED_CODE = /\b(eval|Function)\s*\(/;
const IMPORT_CALL = /\bimport\s*\(/;
/** How long one module's compile may take before the link is given up (the process then uses the hooks). */
const BUILD_TIMEOUT_MS = 60_000;
/** A link with more modules than this is not made (the hooks' path loads the plugin). */
const MAX_LINK_FILES = 2000;

/** The packages the SDK depends on: a plugin may import them without an install of its own (as with the hooks). */
const sdkDependencies = new Set(
  Object.keys(JSON.parse(fs.readFileSync(path.join(SDK_DIR, "package.json"), "utf8")).dependencies ?? {}),
);

/**
 * The SDK's runtime linked (plugin-main and every `@neko/plugin-sdk/*` a plugin may import), per cache folder: made
 * once, and checked whole again at each use (the cache may be deleted or aged meanwhile; a failure is not kept).
 * @type {Map<string, Promise<SdkLink | undefined>>}
 */
const sdkLinks = new Map();

/**
 * @typedef {{ dirUrl: string; modules: Map<string, string>; outputs: string[]; main: string; snapshotScript?: string }} SdkLink
 * `snapshotScript`: the script a startup snapshot is made from (an SDK link for snapshots, sdkSnapshotLink)
 * @typedef {{ main: string; at: number; link?: SdkLink; problem?: string }} SnapshotLinking the SDK link for
 *   snapshots made over the SDK link whose runtime is `main`, or why there is none, as of `at`
 */

/**
 * The SDK's link for processes started from a startup snapshot, per cache folder (as `sdkLinks`).
 * @type {Map<string, Promise<SnapshotLinking>>}
 */
const sdkSnapshotLinks = new Map();
/** How long a bundle for snapshots that could not be made is not tried again (an esbuild timed out under load, say). */
const SNAPSHOT_RETRY_MS = 10 * 60 * 1000;

/**
 * Links the SDK's runtime and the plugin whose entry module is `entry` into the cache; resolves to the manifest a
 * plugin process is pointed at (`NEKO_PLUGIN_LINKED`), or why there is none (the process then uses the hooks).
 * @type {typeof Declared.linkPluginSources}
 */
export async function linkPluginSources(options) {
  const { entry, pluginDir, cacheDir } = options;
  if (cacheDir === undefined) return { ok: false, reason: "no usable compile cache folder" };
  const realOrResolved = (/** @type {string} */ p) => {
    const absolute = path.resolve(pluginDir, p);
    try {
      return fs.realpathSync(absolute);
    } catch {
      return absolute;
    }
  };
  // What the plugin's process may read itself: a link compiles nothing else (the link must not read, on the
  // plugin's behalf, a file its own process is refused). Undefined: no permission model, it may read anything.
  const readable = options.access?.read?.map(realOrResolved);
  // What it may write (its data/ folder, its write grants): a module there may change at run time, so it is never
  // compiled ahead; a plugin that imports one is not linked.
  const writable = [path.join(pluginDir, "data"), ...(options.access?.write ?? [])].map(realOrResolved);
  try {
    const base = await sdkLink(cacheDir);
    if (base === undefined) return { ok: false, reason: "the SDK's runtime could not be linked" };
    // For a startup snapshot when one can be made; else linked as for a process without one.
    const forSnapshot = options.snapshot === true ? await sdkSnapshotLink(cacheDir, base) : undefined;
    const sdk = typeof forSnapshot === "object" ? forSnapshot : base;
    const realDir = fs.realpathSync(pluginDir);
    const realEntry = fs.realpathSync(entry);
    const mirrored = (/** @type {string} */ file) => {
      // As the hooks: a package's modules (CommonJS or not) load as Node loads them, never as the plugin's own.
      if (isTypeScript(file) && file.includes(`${path.sep}node_modules${path.sep}`)) {
        return `${file} is TypeScript inside node_modules`;
      }
      if (file.includes(`${path.sep}node_modules${path.sep}`)) return false;
      if (writable.some((dir) => isInside(file, dir))) return `${file} is in a folder the plugin writes`;
      const own = isInside(file, realDir);
      if (isTypeScript(file)) {
        if (own || readable === undefined || readable.some((dir) => file === dir || isInside(file, dir))) return true;
        return `${file} is outside what the plugin may read`;
      }
      return own && PLUGIN_SOURCE.test(file);
    };
    const entryMirrored = mirrored(realEntry);
    if (entryMirrored !== true) {
      return { ok: false, reason: entryMirrored || `${realEntry} is not one of the plugin's own sources` };
    }
    const linked = await linkGraph({
      roots: [realEntry],
      cacheDir,
      mirrored,
      // A link reused for these roots was made under the same rule of what is compiled into it.
      rule: JSON.stringify([realDir, readable ?? null, writable]),
      known: sdk.modules,
      strict: true,
    });
    if (!linked.ok) return linked;
    const manifest = path.join(cacheDir, `${linked.key}.link`, "manifest.json");
    if (!fs.existsSync(manifest)) {
      /** @type {Record<string, string>} */
      const modules = {};
      for (const [file, url] of [...sdk.modules, ...linked.modules]) modules[pathToFileURL(file).href] = url;
      writeAtomically(manifest, JSON.stringify({ main: sdk.main, modules }));
    }
    return {
      ok: true,
      manifest,
      ...(sdk.snapshotScript !== undefined && { snapshotScript: sdk.snapshotScript }),
      ...(typeof forSnapshot === "string" && { snapshotProblem: forSnapshot }),
    };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** A link's folder and its index, by name. */
const LINK_NAME = /^[0-9a-f]{40}\.link$/;
/** A file in a link's folder: a module, a chunk or a map (a name, never a path). */
const LINK_FILE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const INDEX_NAME = /^[0-9a-f]{40}\.links\.json$/;
/** A link being removed: renamed first, so that no process or host finds it half deleted. */
const TOMBSTONE_NAME = /^[0-9a-f]{40}\.link\.\d+\.[0-9a-f]{8}\.pruned$/;

/**
 * Removes the links in `cacheDir` no process is to import any more: every `<key>.link` folder but those `keep` names
 * (manifests of running processes, with the SDK's link each uses) and those used or made within `graceMs` (a process
 * of another host may be starting from one; a link in use is touched at each use), every index whose link is gone,
 * and the startup snapshots made from links gone (plugin-snapshot.mjs). Resolves to how many went; never throws.
 * @type {typeof Declared.pruneLinks}
 */
export async function pruneLinks(options) {
  const { cacheDir, graceMs } = options;
  if (cacheDir === undefined) return 0;
  const keep = typeof options.keep === "function" ? options.keep : () => /** @type {Iterable<string>} */ (options.keep);
  /** @type {Map<string, string[]>} a manifest → the names of the link folders it imports from (a link never changes) */
  const foldersOf = new Map();
  // Asked again right before each removal: a process started, or a link chosen, while this prune ran is kept too.
  const isKept = (/** @type {string} */ name) => {
    for (const manifest of keep()) {
      let folders = foldersOf.get(manifest);
      if (folders === undefined) {
        folders = linkFoldersOf(manifest).map((dir) => path.basename(dir));
        foldersOf.set(manifest, folders);
      }
      if (folders.includes(name)) return true;
    }
    return false;
  };
  // A link used since this moment is kept: the grace period's start, or an earlier start of a link being prepared
  // (it touches, or writes, the links it will name only as it goes).
  const cutoffNow = () => Math.min(Date.now() - graceMs, options.preparingSince?.() ?? Number.POSITIVE_INFINITY);
  let removed = 0;
  // All of it asynchronous: a cache shared with many plugins holds tens of thousands of entries, and the host serves
  // its plugins while this runs.
  let names;
  try {
    names = await readdir(cacheDir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (TOMBSTONE_NAME.test(name)) {
      // A removal cut short (this host's or another's): nothing imports from it.
      await rm(path.join(cacheDir, name), { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    if (!LINK_NAME.test(name)) continue;
    const dir = path.join(cacheDir, name);
    try {
      if (isKept(name) || (await lstat(dir)).mtimeMs >= cutoffNow()) continue;
      // Checked again and taken away in one synchronous step: between the check and the rename no start of this
      // host can choose it (a later start finds it gone and links again).
      if (isKept(name) || fs.lstatSync(dir).mtimeMs >= cutoffNow()) continue;
      const tombstone = `${dir}.${process.pid}.${randomBytes(4).toString("hex")}.pruned`;
      fs.renameSync(dir, tombstone);
      await rm(tombstone, { recursive: true, force: true });
      removed += 1;
    } catch {
      // gone already
    }
  }
  const cutoff = cutoffNow();
  for (const name of names) {
    if (!INDEX_NAME.test(name)) continue;
    const index = path.join(cacheDir, name);
    try {
      const { key } = JSON.parse(await readFile(index, "utf8"));
      if (typeof key === "string" && (await lstat(path.join(cacheDir, `${key}.link`)).catch(() => undefined))) continue;
      if ((await lstat(index)).mtimeMs >= cutoff) continue;
      await rm(index, { force: true });
      removed += 1;
    } catch {
      // unreadable: the age-based prune of the compile cache takes it
    }
  }
  // The startup snapshots made from the links gone (their names are their links').
  removed += await pruneSnapshots(cacheDir, await readdir(cacheDir).catch(() => []), cutoff);
  return removed;
}

/**
 * The link folders a manifest's process imports from: its own and the SDK's ([] when it cannot be read).
 * @param {string} manifest
 * @returns {string[]}
 */
function linkFoldersOf(manifest) {
  /** @type {Set<string>} */
  const dirs = new Set([path.dirname(manifest)]);
  try {
    const parsed = JSON.parse(fs.readFileSync(manifest, "utf8"));
    for (const url of [parsed.main, ...Object.values(parsed.modules ?? {})]) {
      if (typeof url === "string" && url.startsWith("file:")) dirs.add(path.dirname(fileURLToPath(url)));
    }
  } catch {
    // a manifest gone: its own folder is all that is known
  }
  return [...dirs];
}

/**
 * Touches the link folders of `manifests` (those of running processes), so that no prune within the grace period,
 * this host's or another's sharing the cache, takes them.
 * @type {typeof Declared.touchLinks}
 */
export function touchLinks(manifests) {
  for (const manifest of manifests) for (const dir of linkFoldersOf(manifest)) touch(dir);
}

/**
 * The SDK's link in `cacheDir`, linked again when it is no longer whole there.
 * @param {string} cacheDir
 * @returns {Promise<SdkLink | undefined>}
 */
async function sdkLink(cacheDir) {
  const known = await sdkLinks.get(cacheDir);
  if (known !== undefined && isWhole(known.dirUrl, known.outputs)) {
    // In use: keep it young, so pruning leaves it alone.
    touch(fileURLToPath(known.dirUrl));
    return known;
  }
  let linking = sdkLinks.get(cacheDir);
  if (linking === undefined || known !== undefined) {
    linking = linkSdk(cacheDir).catch(() => undefined);
    sdkLinks.set(cacheDir, linking);
  }
  const linked = await linking;
  if (linked === undefined && sdkLinks.get(cacheDir) === linking) sdkLinks.delete(cacheDir);
  return linked;
}

/**
 * The SDK's link for a process started from a startup snapshot (`options.snapshot`), made over the SDK's link `base`:
 * once for all the starts asking at once, again when it is no longer whole or `base` changed; or why there is none
 * (not tried again for `SNAPSHOT_RETRY_MS`: the plugin is then linked as for a process without a snapshot).
 * @param {string} cacheDir
 * @param {SdkLink} base
 * @returns {Promise<SdkLink | string>}
 */
async function sdkSnapshotLink(cacheDir, base) {
  const pending = sdkSnapshotLinks.get(cacheDir);
  const known = await pending;
  if (known !== undefined && known.main === base.main) {
    if (known.link === undefined && Date.now() - known.at < SNAPSHOT_RETRY_MS) return known.problem ?? "";
    if (known.link !== undefined && isWhole(known.link.dirUrl, known.link.outputs)) {
      // In use: keep it young, so pruning leaves it alone.
      touch(fileURLToPath(known.link.dirUrl));
      return known.link;
    }
  }
  // Another start may have begun it while this one waited.
  let linking = sdkSnapshotLinks.get(cacheDir);
  if (linking === undefined || linking === pending) {
    linking = linkSdkSnapshot(cacheDir, base)
      .then(
        (made) => (typeof made === "string" ? { problem: made } : { link: made }),
        (/** @type {unknown} */ error) => ({ problem: error instanceof Error ? error.message : String(error) }),
      )
      .then((made) => ({ main: base.main, at: Date.now(), ...made }));
    sdkSnapshotLinks.set(cacheDir, linking);
  }
  const made = await linking;
  return made.link ?? made.problem ?? "";
}

/** The script a startup snapshot is made from, in its link (bin/plugin-snapshot.mjs). */
const SNAPSHOT_SCRIPT = "snapshot.cjs";
/** Packages with native code: never in a snapshot, `require`d when a process first needs them. */
const NATIVE_PACKAGES = new Set(["zeromq", "better-sqlite3", "msgpackr-extract"]);

/**
 * Links the SDK for processes started from a startup snapshot (docs/architecture.md "Startup snapshot"): one CommonJS
 * script holding the runtime and every `@neko/plugin-sdk/*` export with what they import (packages too, but those with
 * native code), which hands their namespaces to `prepareSnapshot` (src/runtime/snapshot-main.ts); and for each export
 * a module with its name in `base`, exporting the snapshot's objects, or `base`'s module's when the process has no
 * snapshot (its blob could not be made, or was gone at its launch). A plugin linked against it runs with or without the snapshot,
 * and either way with one copy of each of the SDK's classes. Its `main` is `base`'s: the runner of a process without
 * the snapshot imports it as ever.
 * @param {string} cacheDir
 * @param {SdkLink} base
 * @returns {Promise<SdkLink | string>} the link, or why there is none
 */
async function linkSdkSnapshot(cacheDir, base) {
  const roots = sdkExports();
  const snapshotMain = fs.realpathSync(path.join(SDK_DIR, "src/runtime/snapshot-main.ts"));
  const indexKey = linkIndexKey(cacheDir, [snapshotMain, ...roots], [base.main, ...base.outputs], "snapshot");
  const indexPath = path.join(cacheDir, `${indexKey}.links.json`);
  const reused = await reusableLink(indexPath, cacheDir);
  if (reused !== undefined) return snapshotLinkOf(reused, base);
  /** @type {Map<string, string>} real path → the hash of the text it was bundled from */
  const sourceHashes = new Map();
  /** @type {string | undefined} */
  let refusal;
  const entry = [
    `import { prepareSnapshot } from ${JSON.stringify(snapshotMain)};`,
    ...roots.map((root, i) => `import * as m${i} from ${JSON.stringify(root)};`),
    `prepareSnapshot({ ${roots.map((root, i) => `${JSON.stringify(root)}: m${i}`).join(", ")} });`,
  ].join("\n");
  /** @type {import("esbuild").Plugin} */
  const sources = {
    name: "neko-snapshot-sources",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        // Node's worker_threads loaded as a snapshot is made leaves every thread of a process started from it broken
        // (`process.cwd()` fails in the thread; Node 20.20): the SDK loads it where it is used.
        if (/^(node:)?worker_threads$/.test(args.path) && args.kind === "import-statement") {
          refusal ??= `${args.importer} imports node:worker_threads, which a startup snapshot cannot hold`;
        }
        if (args.path.startsWith("node:") || isBuiltin(args.path)) return { path: args.path, external: true };
        if (NATIVE_PACKAGES.has(packageNameOf(args.path))) return { path: args.path, external: true };
        return undefined;
      });
      // Every file bundled is hashed (a package updated makes a new snapshot); the SDK's sources as in its link.
      build.onLoad({ filter: /.*/ }, async (args) => {
        if (isTypeScript(args.path)) {
          const loaded = await loadSdkSource(build, args.path, sourceHashes);
          if (loaded.refusal !== undefined) refusal ??= loaded.refusal;
          return loaded.result;
        }
        const text = await readFile(args.path, "utf8");
        sourceHashes.set(args.path, hashOf(text));
        const resolveDir = path.dirname(args.path);
        if (/\.json$/.test(args.path)) return { contents: text, loader: "json", resolveDir };
        // A module's import.meta is its own file's here too (a bundle in CommonJS has none).
        if (!/\bimport\.meta\b/.test(text)) return { contents: text, loader: "js", resolveDir };
        const { code } = await build.esbuild.transform(text, {
          loader: "js",
          sourcefile: args.path,
          define: importMetaOf(args.path),
        });
        if (/\bimport\.meta\b/.test(code))
          refusal ??= `${args.path} uses import.meta other than .url, .filename or .dirname`;
        return { contents: code, loader: "js", resolveDir };
      });
    },
  };
  const workingDir = fs.realpathSync(SDK_DIR);
  const common = /** @satisfies {import("esbuild").BuildOptions} */ ({
    absWorkingDir: workingDir,
    bundle: true,
    platform: /** @type {const} */ ("node"),
    target: TARGET,
    write: false,
    keepNames: true,
    logLevel: /** @type {const} */ ("silent"),
    resolveExtensions: [".ts", ".mts", ".js", ".mjs", ".cjs", ".json"],
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    plugins: [sources],
  });
  const built = await withEsbuild((esbuild) =>
    bounded(
      "the SDK's startup snapshot",
      Promise.all([
        esbuild.build({
          ...common,
          stdin: { contents: entry, resolveDir: SDK_DIR, sourcefile: "neko-snapshot-entry.mjs", loader: "js" },
          outfile: path.join(cacheDir, SNAPSHOT_SCRIPT),
          format: "cjs",
          // No warning is handled while the snapshot is made: Node reads `--disable-warning` when it handles its first
          // warning and keeps what it read, so the builder's (its own "not yet fully verified" warnings) would be
          // every plugin process's, and the warnings the host turns off would be printed at each start.
          // Packages with native code load when first needed, through a `require` of the running process (the
          // snapshot builder's own requires only Node's built-in modules).
          // And nothing may be resolved as it is made (Node's resolution caches would be every process's): the script
          // fails then, and there is no snapshot.
          banner: {
            js: [
              'var __nekoEmit = process.emit, __nekoOwnEmit = Object.hasOwn(process, "emit");',
              'process.emit = function (event, ...args) { return event === "warning" ? false : __nekoEmit.call(this, event, ...args); };',
              `var require = (0, require("node:module").createRequire)(${JSON.stringify(path.join(SDK_DIR, "package.json"))});`,
            ].join("\n"),
          },
          footer: {
            js: [
              "if (__nekoOwnEmit) process.emit = __nekoEmit; else delete process.emit;",
              'if (Object.keys(require("node:module")._pathCache).length > 0) throw new Error("the SDK resolved modules as its snapshot was made");',
            ].join("\n"),
          },
        }),
        // Only to learn what each export exports (the metafile names them for ES modules only).
        esbuild.build({
          ...common,
          entryPoints: roots,
          outdir: path.join(cacheDir, "exports"),
          format: "esm",
          splitting: true,
          metafile: true,
        }),
      ]),
    ),
  ).catch((/** @type {unknown} */ error) => {
    refusal ??= buildFailure(error);
    return undefined;
  });
  if (built === undefined || refusal !== undefined) return refusal ?? "the SDK's bundle for snapshots was not made";
  const [script, exportsBuild] = built;
  /** @type {Map<string, string>} file name in the link → its text */
  const texts = new Map([[SNAPSHOT_SCRIPT, script.outputFiles[0].text]]);
  const metafile = /** @type {import("esbuild").Metafile} */ (exportsBuild.metafile);
  for (const [i, root] of roots.entries()) {
    const output = Object.values(metafile.outputs).find(
      (o) => o.entryPoint !== undefined && path.resolve(workingDir, o.entryPoint) === root,
    );
    const fallback = base.modules.get(root);
    if (output === undefined || fallback === undefined) return `no module for ${root} in the SDK's link`;
    texts.set(linkedName(root), snapshotModule(root, fallback, output.exports, i));
  }
  const stored = storeLink({
    cacheDir,
    indexPath,
    texts,
    entries: new Map(roots.map((file) => [file, linkedName(file)])),
    sourceHashes,
    followed: new Map(),
  });
  return snapshotLinkOf(stored, base);
}

/**
 * The module a plugin imports for the SDK's export `root` in a link for snapshots: the snapshot's namespace of it, or
 * the SDK link's module `fallback` in a process without the snapshot.
 * @param {string} root
 * @param {string} fallback
 * @param {string[]} names what `root` exports
 * @param {number} index
 */
function snapshotModule(root, fallback, names, index) {
  const named = names.filter((name) => name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name));
  return [
    `// ${path.basename(root)} of the SDK: the startup snapshot's when this process has one (src/runtime/snapshot-main.ts).`,
    `const snapshot = globalThis[Symbol.for("neko-plugin.snapshot")];`,
    `const m${index} = snapshot?.modules[${JSON.stringify(root)}] ?? (await import(${JSON.stringify(fallback)}));`,
    ...(named.length > 0 ? [`export const { ${named.join(", ")} } = m${index};`] : []),
    ...(names.includes("default") ? [`export default m${index}.default;`] : []),
    "",
  ].join("\n");
}

/**
 * @param {{ dirUrl: string; modules: Map<string, string>; outputs: string[] }} link
 * @param {SdkLink} base
 * @returns {SdkLink}
 */
function snapshotLinkOf(link, base) {
  return {
    dirUrl: link.dirUrl,
    modules: link.modules,
    outputs: link.outputs,
    main: base.main,
    snapshotScript: path.join(fileURLToPath(link.dirUrl), SNAPSHOT_SCRIPT),
  };
}

/**
 * Whether a link's folder is complete and holds each of its modules.
 * @param {string} dirUrl
 * @param {Iterable<string>} moduleUrls
 */
function isWhole(dirUrl, moduleUrls) {
  try {
    if (!fs.existsSync(path.join(fileURLToPath(dirUrl), "complete"))) return false;
    for (const url of moduleUrls) if (!fs.existsSync(fileURLToPath(url))) return false;
    return true;
  } catch {
    return false;
  }
}

/** @param {string} file */
function touch(file) {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // gone meanwhile: the next use links again
  }
}

/**
 * The runtime the runner starts (plugin-main.ts), each `@neko/plugin-sdk/*` export that is TypeScript and the protocol
 * package's, bundled with all they import from the SDK's and the protocol package's sources: one module per entry and
 * a few shared chunks (esbuild's code splitting, so each class exists once whichever entry a module imports it from)
 * instead of a module per source file. A process then loads a handful of files where it loaded over a hundred (about
 * 20 ms of a cold start; docs/benchmarks.md). Packages stay Node's, imported by absolute URL.
 * @param {string} cacheDir
 * @returns {Promise<SdkLink | undefined>}
 */
async function linkSdk(cacheDir) {
  const roots = [fs.realpathSync(path.join(SDK_DIR, "src/runtime/plugin-main.ts")), ...sdkExports()];
  const main = roots[0];
  const indexKey = linkIndexKey(cacheDir, roots, [], "bundle");
  const indexPath = path.join(cacheDir, `${indexKey}.links.json`);
  const reused = await reusableLink(indexPath, cacheDir);
  if (reused !== undefined) return sdkLinkOf(reused, main);
  /** @type {Map<string, string>} */
  const followed = new Map();
  /** @type {Map<string, string>} real path → the hash of the text it was bundled from */
  const sourceHashes = new Map();
  /** @type {string | undefined} */
  let refusal;
  const placeholderDir = path.join(cacheDir, `${"0".repeat(40)}.link`);
  const result = await withEsbuild((esbuild) =>
    bounded(
      "the SDK's runtime",
      esbuild.build({
        entryPoints: roots.map((file) => ({ in: file, out: linkedName(file).replace(/\.mjs$/, "") })),
        // Where the modules will be (any link's folder is as deep): the source maps name the sources from there.
        outdir: placeholderDir,
        outExtension: { ".js": ".mjs" },
        chunkNames: "chunk-[hash]",
        write: false,
        bundle: true,
        splitting: true,
        format: "esm",
        platform: "node",
        target: TARGET,
        // In a file beside each module, read by Node when it loads the module: inline, a map is text V8 scans as
        // part of the module's source (the maps chain through each file's own, so they name the .ts sources).
        sourcemap: "linked",
        sourcesContent: false,
        keepNames: true,
        logLevel: "silent",
        preserveSymlinks: true,
        conditions: [],
        mainFields: ["main"],
        resolveExtensions: [".ts", ".mts", ".js", ".mjs", ".json"],
        tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
        plugins: [
          {
            name: "neko-link-sdk",
            setup(build) {
              build.onResolve({ filter: /.*/ }, async (args) => {
                if (args.pluginData?.inner === true) return undefined;
                if (args.kind === "entry-point") return { path: args.path };
                const resolved = await resolveAsNode(build, args, args.importer, followed);
                if (resolved === undefined) {
                  refusal ??= `${args.importer}: cannot resolve ${args.path}`;
                  return { path: args.path, external: true };
                }
                if (resolved.startsWith("node:")) return { path: resolved, external: true };
                if (isTypeScript(resolved)) return { path: resolved };
                return { path: pathToFileURL(resolved).href, external: true };
              });
              // Each module's import.meta is its source file's (loadSdkSource).
              build.onLoad({ filter: /\.(ts|mts)$/ }, async (args) => {
                const loaded = await loadSdkSource(build, args.path, sourceHashes);
                if (loaded.refusal !== undefined) refusal ??= loaded.refusal;
                return loaded.result;
              });
            },
          },
        ],
      }),
    ),
  ).catch((/** @type {unknown} */ error) => {
    refusal ??= buildFailure(error);
    return undefined;
  });
  if (result === undefined || refusal !== undefined) return undefined;
  /** @type {Map<string, string>} file name in the link → its text */
  const texts = new Map();
  for (const output of result.outputFiles) {
    texts.set(path.basename(output.path), output.text);
  }
  const stored = storeLink({
    cacheDir,
    indexPath,
    texts,
    entries: new Map(roots.map((file) => [file, linkedName(file)])),
    sourceHashes,
    followed,
  });
  return sdkLinkOf(stored, main);
}

/**
 * The real path of each TypeScript module the SDK's and the protocol package's `exports` name (what a plugin may import
 * as `@neko/plugin-sdk/*` or `@neko/protocol`), in their order.
 */
function sdkExports() {
  /** @type {string[]} */
  const roots = [];
  for (const dir of FRAMEWORK_DIRS) {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      // The testing helpers start a host: never part of a plugin process.
      if (typeof target === "string" && isTypeScript(target) && subpath !== "./testing") {
        const root = fs.realpathSync(path.join(dir, target));
        if (!roots.includes(root)) roots.push(root);
      }
    }
  }
  return roots;
}

/**
 * What `import.meta` stands for in `file` once bundled: its own file's.
 * @param {string} file
 */
function importMetaOf(file) {
  return {
    "import.meta.url": JSON.stringify(pathToFileURL(file).href),
    "import.meta.filename": JSON.stringify(file),
    "import.meta.dirname": JSON.stringify(path.dirname(file)),
  };
}

/**
 * An SDK source compiled for a bundle of the SDK (esbuild `onLoad`): its TypeScript stripped, its hash noted in
 * `sourceHashes`, and its `import.meta` its own file's, as in a module of its own: the SDK finds its dependencies and
 * its bin/ beside its sources (a bundle's import.meta would be the cache's). Replaced by esbuild's `define` on the
 * syntax tree, a file at a time (a build's `define` is one for all files); the text hashed is the text compiled, so a
 * source edited meanwhile is not taken as linked. `refusal`: why the bundle cannot be used.
 * @param {import("esbuild").PluginBuild} build
 * @param {string} file
 * @param {Map<string, string>} sourceHashes
 * @returns {Promise<{ result: import("esbuild").OnLoadResult; refusal?: string }>}
 */
async function loadSdkSource(build, file, sourceHashes) {
  const source = await readFile(file, "utf8");
  sourceHashes.set(file, hashOf(source));
  const { code } = await build.esbuild.transform(source, {
    loader: "ts",
    format: "esm",
    // Decorators and class fields are lowered by the build, with the names kept.
    target: "esnext",
    sourcefile: file,
    sourcemap: "inline",
    sourcesContent: false,
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    define: importMetaOf(file),
  });
  const result = { contents: code, loader: /** @type {const} */ ("js"), resolveDir: path.dirname(file) };
  // Any other use (import.meta.resolve, the object itself) would be the bundle's, in the cache.
  return /\bimport\.meta\b/.test(code)
    ? { result, refusal: `${file} uses import.meta other than .url, .filename or .dirname` }
    : { result };
}

/**
 * @param {{ dirUrl: string; modules: Map<string, string>; outputs: string[] }} link
 * @param {string} main
 * @returns {SdkLink | undefined}
 */
function sdkLinkOf(link, main) {
  const mainUrl = link.modules.get(main);
  return mainUrl === undefined
    ? undefined
    : { dirUrl: link.dirUrl, modules: link.modules, outputs: link.outputs, main: mainUrl };
}

/**
 * The name of the index of the links made from `roots` (with the SDK's link `known`, under `rule`).
 * @param {string} cacheDir
 * @param {string[]} roots
 * @param {string[]} known
 * @param {string} rule
 */
function linkIndexKey(cacheDir, roots, known, rule) {
  return createHash("sha256")
    .update(`${FORMAT}\0${TARGET}\0${ESBUILD_VERSION}\0${cacheDir}\0`)
    .update(JSON.stringify([roots, known, rule]))
    .digest("hex")
    .slice(0, 40);
}

/**
 * A compiled module's name in its link: a hash of its source's real path and the source's own name.
 * @param {string} file
 */
function linkedName(file) {
  const base = path
    .basename(file)
    .replace(/\.[^.]+$/, "")
    .replace(/[^A-Za-z0-9_-]/g, "_");
  return `${createHash("sha256").update(file).digest("hex").slice(0, 16)}-${base}.mjs`;
}

/**
 * Compiles every module reachable from `roots` that `mirrored` says is ours, with each import written as the absolute
 * URL Node is to load; writes them into `<cache>/<key>.link/` unless it is there already.
 * @param {{ roots: string[]; cacheDir: string; mirrored: (file: string) => boolean | string; known: Map<string, string>;
 *   strict: boolean; rule?: string }} options `mirrored`: whether a module is compiled into the link (true) or left to Node (false),
 *   or why the link cannot be made (a string); `rule`: what `mirrored` decides by, as text; `known`: modules linked already (the SDK's), by real path; `strict`: a plugin's
 *   sources, which must not compute an import or resolve at run time (the SDK's own do, with absolute URLs)
 * @returns {Promise<{ ok: true; key: string; dirUrl: string; modules: Map<string, string>; outputs: string[] } | { ok: false; reason: string }>}
 */
async function linkGraph(options) {
  // What was linked from these roots last time, and from which texts: still good when none of them changed.
  const indexKey = linkIndexKey(
    options.cacheDir,
    options.roots,
    [...options.known.values()].slice(0, 1),
    options.rule ?? "",
  );
  const indexPath = path.join(options.cacheDir, `${indexKey}.links.json`);
  const previous = await reusableLink(indexPath, options.cacheDir);
  if (previous !== undefined) return previous;
  /** @type {Map<string, string>} real path → the hash of the text it was compiled from */
  const sourceHashes = new Map();
  /** @type {Map<string, string>} real path → its compiled text (imports of the link's own modules as placeholders) */
  const outputs = new Map();
  /** @type {Map<string, string>} */
  const names = new Map();
  const nameOf = (/** @type {string} */ file) => {
    let name = names.get(file);
    if (name === undefined) {
      name = linkedName(file);
      names.set(file, name);
    }
    return name;
  };
  /** @type {Map<string, string>} each path as an import found it (symbolic links and all) → its real path */
  const followed = new Map();
  /** @type {string[]} */
  let pending = [...options.roots];
  /** @type {string | undefined} */
  let refusal;
  while (pending.length > 0 && refusal === undefined) {
    /** @type {string[]} */
    const found = [];
    await Promise.all(
      pending.map(async (file) => {
        if (outputs.has(file)) return;
        outputs.set(file, "");
        const source = await readFile(file, "utf8");
        sourceHashes.set(file, hashOf(source));
        if (options.strict && EVALUATED_CODE.test(source) && IMPORT_CALL.test(source)) {
          refusal = `${file} evaluates code (eval or new Function) and calls import()`;
          return;
        }
        const url = pathToFileURL(file).href;
        // Held against the compile cache's idle stop of the service (ts-compile-cache.mjs), and bounded all the same.
        const result = await withEsbuild((esbuild) =>
          bounded(
            file,
            esbuild.build({
              stdin: {
                contents: source,
                sourcefile: file,
                resolveDir: path.dirname(file),
                loader: isTypeScript(file) ? "ts" : "js",
              },
              // Where the module will be (any link's folder is as deep): the source map names the source from there.
              outfile: path.join(options.cacheDir, `${"0".repeat(40)}.link`, nameOf(file)),
              write: false,
              bundle: true,
              format: "esm",
              platform: "node",
              target: TARGET,
              sourcemap: "inline",
              sourcesContent: false,
              keepNames: true,
              treeShaking: false,
              logLevel: "silent",
              // A computed import is esbuild's own finding (it parses the module: a comment or a string is no import).
              logOverride: Object.fromEntries(COMPUTED_IMPORT_MESSAGES.map((id) => [id, "warning"])),
              metafile: true,
              // Symbolic links are resolved here, not by esbuild, so the index learns which were followed (see below).
              preserveSymlinks: true,
              conditions: [],
              mainFields: ["main"],
              resolveExtensions: [".ts", ".mts", ".js", ".mjs", ".json"],
              tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
              // The module runs from the cache but is the file it was compiled from, for whatever it finds beside it.
              define: {
                "import.meta.url": JSON.stringify(url),
                "import.meta.filename": JSON.stringify(file),
                "import.meta.dirname": JSON.stringify(path.dirname(file)),
              },
              plugins: [
                {
                  name: "neko-link",
                  setup(build) {
                    build.onResolve({ filter: /.*/ }, async (args) => {
                      if (args.pluginData?.inner === true) return undefined;
                      const resolved = await resolveAsNode(build, args, file, followed);
                      if (resolved === undefined) {
                        refusal ??= `${file}: cannot resolve ${args.path}`;
                        return { path: args.path, external: true };
                      }
                      if (resolved.startsWith("node:")) return { path: resolved, external: true };
                      const known = options.known.get(resolved);
                      if (known !== undefined) return { path: known, external: true };
                      const mirrored = options.mirrored(resolved);
                      if (typeof mirrored === "string") {
                        refusal ??= mirrored;
                        return { path: args.path, external: true };
                      }
                      if (!mirrored) return { path: pathToFileURL(resolved).href, external: true };
                      if (options.strict && FRAMEWORK_DIRS.some((dir) => isInside(resolved, dir))) {
                        refusal ??= `${file} imports ${args.path}, which is not part of the SDK's runtime`;
                      }
                      if (!outputs.has(resolved)) found.push(resolved);
                      return { path: `${PLACEHOLDER}${nameOf(resolved)}`, external: true };
                    });
                  },
                },
              ],
            }),
          ),
        );
        if (options.strict) {
          const computed = result.warnings.find((w) => COMPUTED_IMPORT_MESSAGES.includes(w.id));
          if (computed !== undefined) {
            const where = computed.location ? `:${computed.location.line}` : "";
            refusal ??= `${file}${where} imports a module whose name it computes (${computed.location?.lineText.trim()})`;
            return;
          }
          // A template such as `./locale/${name}.ts` esbuild reads as a pattern and bundles every file it matches
          // into this module: the plugin's files would then run as copies, not as the link's modules.
          const inlined = Object.keys(/** @type {import("esbuild").Metafile} */ (result.metafile).inputs).filter(
            (input) => path.resolve(input) !== file,
          );
          if (inlined.length > 0) {
            refusal ??= `${file} imports a module whose name it computes (a pattern matching ${inlined.length} files)`;
            return;
          }
          // A pattern matching no file at all (esbuild's `empty-glob` aside): still a computed import.
          const own = Object.entries(/** @type {import("esbuild").Metafile} */ (result.metafile).inputs).find(
            ([input]) => path.resolve(input) === file,
          );
          const pattern = own?.[1].imports.find((imported) => imported.path.includes("*"));
          if (pattern !== undefined) {
            refusal ??= `${file} imports a module whose name it computes (the pattern ${pattern.path})`;
            return;
          }
        }
        const text = result.outputFiles[0].text;
        // The defines above replace import.meta.url, .filename and .dirname; any other use (import.meta.resolve,
        // import.meta["url"], the object itself) would point into the cache, not at the plugin's file.
        if (options.strict && text.includes("import.meta")) {
          refusal ??= `${file} uses import.meta other than import.meta.url, import.meta.filename or import.meta.dirname`;
          return;
        }
        outputs.set(file, text);
      }),
    ).catch((/** @type {unknown} */ error) => {
      refusal ??= buildFailure(error);
    });
    if (outputs.size > MAX_LINK_FILES) refusal ??= `more than ${MAX_LINK_FILES} modules`;
    pending = found;
  }
  if (refusal !== undefined) return { ok: false, reason: refusal };
  const texts = new Map([...outputs].map(([file, text]) => [nameOf(file), text]));
  const entries = new Map([...outputs.keys()].map((file) => [file, nameOf(file)]));
  return storeLink({ cacheDir: options.cacheDir, indexPath, texts, entries, sourceHashes, followed });
}

/**
 * Writes a link's files into `<cache>/<key>.link/` (named by a hash of them all) unless it is there already, and its
 * index at `indexPath`, from which an unchanged set of sources finds it again.
 * @param {{ cacheDir: string; indexPath: string; texts: Map<string, string>; entries: Map<string, string>;
 *   sourceHashes: Map<string, string>; followed: Map<string, string> }} options `texts`: each file's name → its text
 *   (the link's own folder as `PLACEHOLDER`); `entries`: the real path of each source a module stands for → its name;
 *   `sourceHashes`: each source read → the hash of its text; `followed`: each path an import found → its real path
 * @returns {{ ok: true; key: string; dirUrl: string; modules: Map<string, string>; outputs: string[] }}
 */
function storeLink(options) {
  const { cacheDir, texts } = options;
  const names = [...texts.keys()].sort();
  const hash = createHash("sha256").update(`${FORMAT}\0${TARGET}\0`);
  for (const name of names) hash.update(`${name}\0${texts.get(name)}\0`);
  const key = hash.digest("hex").slice(0, 40);
  const dir = path.join(cacheDir, `${key}.link`);
  const dirUrl = `${pathToFileURL(dir).href}/`;
  /** @type {Map<string, string>} */
  const modules = new Map();
  for (const [file, name] of options.entries) modules.set(file, `${dirUrl}${name}`);
  const outputs = names.map((name) => `${dirUrl}${name}`);
  if (!isWhole(dirUrl, outputs)) {
    // Written under a temporary name and renamed: a process sees the whole link or none. The cache folder may have
    // been deleted since the host started; a folder left incomplete (a write cut short, files aged away) goes first.
    fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const temporary = `${dir}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    fs.mkdirSync(temporary, { mode: 0o700 });
    try {
      for (const name of names) {
        const text = /** @type {string} */ (texts.get(name)).replaceAll(`"${PLACEHOLDER}`, `"${dirUrl}`);
        fs.writeFileSync(path.join(temporary, name), text, { mode: 0o600 });
      }
      fs.writeFileSync(path.join(temporary, "complete"), "", { mode: 0o600 });
      if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(temporary, dir);
    } catch (error) {
      fs.rmSync(temporary, { recursive: true, force: true });
      // Another host wrote the same link meanwhile.
      if (!isWhole(dirUrl, outputs)) throw error;
    }
  } else {
    // In use: keep it young, so pruning leaves it alone.
    touch(dir);
  }
  const sources = [...options.sourceHashes.keys()];
  // The folders of its sources as they are now: a file added or removed beside one may change what an import
  // resolves to.
  /** @type {Record<string, string>} */
  const folders = {};
  for (const file of [...sources, ...options.followed.keys()]) {
    folders[path.dirname(file)] ??= listingHash(path.dirname(file));
  }
  // Each path an import found, with the real path it led to: a symbolic link pointed elsewhere since (the plugin's
  // own file, a folder on the way, a package in node_modules) leads an import to other code, so the link is not reused.
  // Every pair, a path that was no symbolic link included: a real file replaced by a link to other code changes it too.
  const links = Object.fromEntries(options.followed);
  writeAtomically(
    options.indexPath,
    JSON.stringify({
      key,
      files: Object.fromEntries(options.sourceHashes),
      folders,
      links,
      modules: [...modules],
      outputs: names,
    }),
  );
  return { ok: true, key, dirUrl, modules, outputs };
}

/**
 * The link an index names, when every file it was made from still has the same text and the link is whole.
 * @param {string} indexPath
 * @param {string} cacheDir
 * @returns {Promise<{ ok: true; key: string; dirUrl: string; modules: Map<string, string>; outputs: string[] } | undefined>}
 */
async function reusableLink(indexPath, cacheDir) {
  try {
    const index = JSON.parse(await readFile(indexPath, "utf8"));
    if (typeof index.key !== "string" || !/^[0-9a-f]{40}$/.test(index.key)) return undefined;
    const dir = path.join(cacheDir, `${index.key}.link`);
    const dirUrl = `${pathToFileURL(dir).href}/`;
    // Every file of the link (a bundle's chunks and maps too), each a plain name in its folder, the modules among them.
    if (!Array.isArray(index.outputs) || index.outputs.length === 0) return undefined;
    if (!index.outputs.every((/** @type {unknown} */ name) => typeof name === "string" && LINK_FILE.test(name))) {
      return undefined;
    }
    /** @type {string[]} */
    const outputs = index.outputs.map((/** @type {string} */ name) => `${dirUrl}${name}`);
    /** @type {Map<string, string>} */
    const modules = new Map(index.modules);
    if (![...modules.values()].every((url) => outputs.includes(url))) return undefined;
    if (!isWhole(dirUrl, outputs)) return undefined;
    for (const [file, hash] of Object.entries(index.files)) {
      if (hashOf(await readFile(file, "utf8")) !== hash) return undefined;
    }
    for (const [folder, hash] of Object.entries(index.folders ?? {})) {
      if (listingHash(folder) !== hash) return undefined;
    }
    for (const [found, real] of Object.entries(index.links ?? {})) {
      if (fs.realpathSync(found) !== real) return undefined;
    }
    const now = new Date();
    fs.utimesSync(dir, now, now);
    fs.utimesSync(indexPath, now, now);
    return { ok: true, key: index.key, dirUrl, modules, outputs };
  } catch {
    return undefined;
  }
}

/**
 * Why a build failed, in one line: esbuild's first error with where it is (its message alone says only "Build failed
 * with 1 error").
 * @param {unknown} error
 */
function buildFailure(error) {
  const first = /** @type {{ errors?: import("esbuild").Message[] }} */ (error)?.errors?.[0];
  if (first !== undefined) {
    const where = first.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : "";
    return `${where}${first.text}`;
  }
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/**
 * `promise`, or a failure naming `file` once `BUILD_TIMEOUT_MS` have passed: a link is never waited on for ever.
 * @template T
 * @param {string} file
 * @param {Promise<T>} promise
 * @returns {Promise<T>}
 */
function bounded(file, promise) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`esbuild did not compile ${file} within ${BUILD_TIMEOUT_MS / 1000} s`)),
      BUILD_TIMEOUT_MS,
    );
    timer.unref();
  });
  return /** @type {Promise<T>} */ (Promise.race([promise, timeout])).finally(() => clearTimeout(timer));
}

/**
 * The names in a folder, as a hash ("" when it cannot be read).
 * @param {string} dir
 */
function listingHash(dir) {
  try {
    return hashOf(fs.readdirSync(dir).sort().join("\0"));
  } catch {
    return "";
  }
}

/** @param {string} text */
function hashOf(text) {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Where Node (with the runner's hooks) would find `args.path` from the importing file: a real file path, `node:…`,
 * or undefined. `@neko/plugin-sdk/*`, and a package the plugin's folder lacks but the SDK depends on, resolve from the
 * SDK, as the hooks resolve them.
 * @param {import("esbuild").PluginBuild} build
 * @param {import("esbuild").OnResolveArgs} args
 * @param {string} importer the file being compiled
 * @param {Map<string, string>} followed where each path found goes with its symbolic links resolved (added to)
 * @returns {Promise<string | undefined>}
 */
async function resolveAsNode(build, args, importer, followed) {
  const specifier = args.path;
  if (specifier.startsWith("node:")) return specifier;
  if (isBuiltin(specifier)) return `node:${specifier}`;
  const fromSdk = specifier === SDK || specifier.startsWith(`${SDK}/`);
  const attempt = (/** @type {string} */ resolveDir) => attemptAs(build, { ...args, resolveDir }, specifier);
  // From TypeScript, `./util.js` means `util.ts` when there is one, even beside a compiled `util.js` (as the hooks read it).
  const swapped = /^\.{1,2}\//.test(specifier) && isTypeScript(importer) ? swapToTypeScript(specifier) : undefined;
  let found = swapped === undefined ? undefined : await attemptAs(build, args, swapped);
  found ??= fromSdk ? await attempt(SELF_DIR) : await attempt(args.resolveDir);
  if (found === undefined && !fromSdk && sdkDependencies.has(packageNameOf(specifier))) found = await attempt(SELF_DIR);
  if (found === undefined) return undefined;
  const real = fs.realpathSync(found);
  followed.set(found, real);
  return real;
}

/**
 * `./util.ts` for `./util.js`, `./util.mts` for `./util.mjs`; undefined for any other.
 * @param {string} specifier
 */
function swapToTypeScript(specifier) {
  if (/\.js$/.test(specifier)) return `${specifier.slice(0, -3)}.ts`;
  if (/\.mjs$/.test(specifier)) return `${specifier.slice(0, -4)}.mts`;
  return undefined;
}

/**
 * @param {import("esbuild").PluginBuild} build
 * @param {import("esbuild").OnResolveArgs} args
 * @param {string} specifier
 */
async function attemptAs(build, args, specifier) {
  const result = await build.resolve(specifier, {
    kind: args.kind,
    resolveDir: args.resolveDir,
    importer: args.importer,
    pluginData: { inner: true },
  });
  return result.errors.length === 0 && !result.external && result.path ? result.path : undefined;
}

/** @param {string} specifier */
function isBuiltin(specifier) {
  return require("node:module").isBuiltin(specifier);
}

/** @param {string} specifier */
function packageNameOf(specifier) {
  if (/^(\.{1,2}\/|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier)) return "";
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * @param {string} file
 * @param {string} dir
 */
function isInside(file, dir) {
  const relative = path.relative(dir, file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * @param {string} target
 * @param {string} text
 */
function writeAtomically(target, text) {
  const temporary = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    fs.writeFileSync(temporary, text, { mode: 0o600 });
    fs.renameSync(temporary, target);
  } catch {
    fs.rmSync(temporary, { force: true });
  }
}
