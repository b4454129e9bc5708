/**
 * The manager page's files (SPEC §5.2): the Preact app of src/app bundled by esbuild into one script and one
 * stylesheet with content-hashed names, and the index.html that names them. Built the first time a server asks for
 * them and kept under dist/<hash of the sources and this builder>/, so `npm start` serves the page with no build step
 * of its own, an edited source builds again, and an unwritable package folder only costs a build per process (kept in
 * memory). A kept build is used only as its own record (build.json) lists it, each file matching its SHA-256, in
 * folders of this user's that no one else may write; anything else is built again.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** One file of the page. `immutable`: its name changes with its content, so a browser may keep it for good. */
export interface ManagerAsset {
  body: Buffer;
  contentType: string;
  immutable: boolean;
}

export interface ManagerAssets {
  /** index.html: served at `/` and `/ui/`. */
  index: Buffer;
  /** The scripts and stylesheets, by file name, served at `/ui/assets/<name>`. */
  assets: ReadonlyMap<string, ManagerAsset>;
}

/** Where the page's files are served from; index.html names them with it. */
export const MANAGER_ASSETS_PATH = "/ui/assets/";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const appDir = path.join(packageDir, "src", "app");
const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

const RECORD = "build.json";

/** What a kept build holds: each file's SHA-256, so a file changed or added since is noticed. */
interface BuildRecord {
  index: string;
  assets: Record<string, string>;
}

let loading: Promise<ManagerAssets> | undefined;

/** The page's files, built once per process (and once per source change on disk). */
export function loadManagerAssets(): Promise<ManagerAssets> {
  loading ??= readOrBuild().catch((error: unknown) => {
    loading = undefined; // a failed build (a source being saved) is tried again by the next server
    throw error;
  });
  return loading;
}

async function readOrBuild(): Promise<ManagerAssets> {
  const hash = sourceHash();
  const cacheDir = path.join(packageDir, "dist", hash);
  const cached = readKeptBuild(cacheDir);
  if (cached) return cached;
  const built = await buildManagerAssets();
  keepBuild(path.join(packageDir, "dist"), hash, built);
  return built;
}

/** The sources and the versions of what bundles them: a change to any of them is a new build. */
function sourceHash(): string {
  const digest = crypto.createHash("sha256");
  const require = createRequire(import.meta.url);
  for (const name of ["esbuild", "preact"]) {
    digest.update(`${name}@${(require(`${name}/package.json`) as { version: string }).version}\n`);
  }
  // This file decides how the sources are bundled and what index.html says: a change to it is a new build too.
  for (const file of [fileURLToPath(import.meta.url), path.join(packageDir, "package.json"), ...filesUnder(appDir)]) {
    digest.update(`${path.relative(packageDir, file)}\n`);
    digest.update(fs.readFileSync(file));
  }
  return digest.digest("hex").slice(0, 16);
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => (d.isDirectory() ? filesUnder(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

/** A fresh build, in memory. */
export async function buildManagerAssets(): Promise<ManagerAssets> {
  const esbuild = await import("esbuild");
  const outdir = path.join(packageDir, "dist", "out");
  const result = await esbuild.build({
    entryPoints: [path.join(appDir, "main.tsx")],
    bundle: true,
    write: false,
    outdir,
    entryNames: "manager-[hash]",
    format: "esm",
    platform: "browser",
    target: ["chrome115", "firefox115", "safari16"],
    minify: true,
    legalComments: "none",
    jsx: "automatic",
    jsxImportSource: "preact",
    absWorkingDir: packageDir,
    logLevel: "silent",
  });
  const assets = new Map<string, ManagerAsset>();
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    assets.set(name, { body: Buffer.from(file.contents), contentType: TYPES[path.extname(name)], immutable: true });
  }
  return { index: Buffer.from(indexHtml([...assets.keys()])), assets };
}

function indexHtml(names: readonly string[]): string {
  const styles = names.filter((n) => n.endsWith(".css")).map((n) => `<link rel="stylesheet" href="${url(n)}">`);
  const scripts = names.filter((n) => n.endsWith(".js")).map((n) => `<script type="module" src="${url(n)}"></script>`);
  // The empty data: icon keeps the browser from asking for /favicon.ico (a 404 in its console).
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>neko-plugin manager</title>
<link rel="icon" href="data:,">
${[...styles, ...scripts].join("\n")}
</head>
<body>
<div id="app"></div>
<noscript>The neko-plugin manager needs JavaScript. The HTTP API is described at /docs.</noscript>
</body>
</html>
`;
}

function url(name: string): string {
  return `${MANAGER_ASSETS_PATH}${name}`;
}

/** The build kept in `dir`, if it passes every check (see the top comment); otherwise undefined. */
export function readKeptBuild(dir: string): ManagerAssets | undefined {
  try {
    if (!ownedAndClosed(path.dirname(dir)) || !ownedAndClosed(dir) || !ownedAndClosed(path.join(dir, "assets"))) {
      return undefined;
    }
    const record = JSON.parse(readChecked(path.join(dir, RECORD)).toString("utf8")) as BuildRecord;
    const sha256 = /^[0-9a-f]{64}$/;
    if (typeof record.index !== "string" || !sha256.test(record.index)) return undefined;
    if (typeof record.assets !== "object" || record.assets === null) return undefined;
    if (!Object.values(record.assets).every((v) => typeof v === "string" && sha256.test(v))) return undefined;
    const index = readChecked(path.join(dir, "index.html"), record.index);
    const assets = new Map<string, ManagerAsset>();
    for (const [name, sha256] of Object.entries(record.assets)) {
      const contentType = TYPES[path.extname(name)];
      if (!contentType || path.basename(name) !== name) return undefined;
      assets.set(name, { body: readChecked(path.join(dir, "assets", name), sha256), contentType, immutable: true });
    }
    const listed = fs.readdirSync(path.join(dir, "assets"));
    if (assets.size === 0 || listed.length !== assets.size) return undefined;
    return { index, assets };
  } catch {
    return undefined;
  }
}

/** A regular file (not a link) of this user's that no one else may write, with the expected SHA-256 if given. */
function readChecked(file: string, sha256?: string): Buffer {
  const stat = fs.lstatSync(file);
  if (!stat.isFile() || !ownedAndClosed(file, stat)) throw new Error(`${file} is not this user's own file`);
  const body = fs.readFileSync(file);
  if (sha256 !== undefined && digestOf(body) !== sha256) throw new Error(`${file} changed since it was built`);
  return body;
}

function ownedAndClosed(file: string, stat: fs.Stats = fs.lstatSync(file)): boolean {
  if (stat.isSymbolicLink()) return false;
  const uid = process.getuid?.();
  return (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
}

function digestOf(body: Buffer): string {
  return crypto.createHash("sha256").update(body).digest("hex");
}

/**
 * Into a folder of its own first, then renamed into place: two servers starting at once both build, and the second
 * rename finds the first one's folder and leaves it. Older builds are removed. A folder that cannot be written only
 * means the next process builds again.
 */
export function keepBuild(distDir: string, hash: string, built: ManagerAssets): void {
  const staging = path.join(distDir, `.staging-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  try {
    fs.mkdirSync(path.join(staging, "assets"), { recursive: true, mode: 0o755 });
    fs.chmodSync(distDir, fs.statSync(distDir).mode & ~0o022);
    const record: BuildRecord = { index: digestOf(built.index), assets: {} };
    fs.writeFileSync(path.join(staging, "index.html"), built.index, { mode: 0o644 });
    for (const [name, asset] of built.assets) {
      fs.writeFileSync(path.join(staging, "assets", name), asset.body, { mode: 0o644 });
      record.assets[name] = digestOf(asset.body);
    }
    fs.writeFileSync(path.join(staging, RECORD), JSON.stringify(record), { mode: 0o644 });
    const target = path.join(distDir, hash);
    // Another process's build that passes the checks stays; one that does not is replaced.
    if (!readKeptBuild(target)) {
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(staging, target);
    }
    for (const old of fs.readdirSync(distDir)) {
      if (old !== hash && !old.startsWith(".staging-"))
        fs.rmSync(path.join(distDir, old), { recursive: true, force: true });
    }
  } catch {
    // kept in memory for this process
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
