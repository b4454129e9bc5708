/**
 * The manager page's files (SPEC §5.2): the Preact app of src/app bundled by esbuild into one script and one
 * stylesheet with content-hashed names, and the index.html that names them. Built the first time a server asks for
 * them and kept under dist/<hash of the sources>/, so `npm start` serves the page with no build step of its own, an
 * edited source builds again, and an unwritable package folder only costs a build per process (kept in memory).
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
  const cached = readBuilt(cacheDir);
  if (cached) return cached;
  const built = await build();
  writeBuilt(path.join(packageDir, "dist"), hash, built);
  return built;
}

/** The sources and the versions of what bundles them: a change to any of them is a new build. */
function sourceHash(): string {
  const digest = crypto.createHash("sha256");
  const require = createRequire(import.meta.url);
  for (const name of ["esbuild", "preact"]) {
    digest.update(`${name}@${(require(`${name}/package.json`) as { version: string }).version}\n`);
  }
  for (const file of filesUnder(appDir)) {
    digest.update(`${path.relative(appDir, file)}\n`);
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

async function build(): Promise<ManagerAssets> {
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

function readBuilt(dir: string): ManagerAssets | undefined {
  try {
    const index = fs.readFileSync(path.join(dir, "index.html"));
    const assets = new Map<string, ManagerAsset>();
    for (const name of fs.readdirSync(path.join(dir, "assets"))) {
      const contentType = TYPES[path.extname(name)];
      if (!contentType) continue;
      assets.set(name, { body: fs.readFileSync(path.join(dir, "assets", name)), contentType, immutable: true });
    }
    return assets.size > 0 ? { index, assets } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Into a folder of its own first, then renamed into place: two servers starting at once both build, and the second
 * rename finds the first one's folder and leaves it. Older builds are removed. A folder that cannot be written only
 * means the next process builds again.
 */
function writeBuilt(distDir: string, hash: string, built: ManagerAssets): void {
  const staging = path.join(distDir, `.staging-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  try {
    fs.mkdirSync(path.join(staging, "assets"), { recursive: true });
    fs.writeFileSync(path.join(staging, "index.html"), built.index);
    for (const [name, asset] of built.assets) fs.writeFileSync(path.join(staging, "assets", name), asset.body);
    fs.renameSync(staging, path.join(distDir, hash));
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
