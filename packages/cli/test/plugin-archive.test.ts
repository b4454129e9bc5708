/** `build` and `install` through their functions: what goes in, the checksum list, and every refusal writing nothing. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { createGzip, gzipSync } from "node:zlib";
import { Header, list } from "tar";
import { copyExamplePlugins, makeTempDir } from "../../../test/support/plugin-fixtures.ts";
import { buildPluginArchive } from "../src/packaging/plugin-archive-builder.ts";
import { installPluginArchive } from "../src/packaging/plugin-installer.ts";
import { craftArchive, craftTar, honestMembers, indexMember, samplePluginFiles, tamper } from "./crafted-archive.ts";
import { removeTypeCheckBuildInfo } from "./type-check-build-info.ts";

const temps: string[] = [];
after(() => {
  removeTypeCheckBuildInfo(temps);
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = makeTempDir("neko-archive-");
  temps.push(dir);
  return dir;
}

/** A copy of plugins/hello_world plus files that must stay out of its archive. */
function helloWorldWithClutter(): string {
  const root = tempDir();
  copyExamplePlugins(root, ["hello_world"]);
  const dir = path.join(root, "hello_world");
  const clutter: Record<string, string> = {
    ".env": "TOKEN=secret",
    ".env.local": "TOKEN=secret",
    ".git/config": "[core]",
    "server.pem": "-----BEGIN PRIVATE KEY-----",
    "tls.key": "key",
    id_rsa: "key",
    "id_ed25519.pub": "key",
    "data/store.sqlite": "runtime data",
    "node_modules/left-pad/index.js": "module.exports = 1",
    "static/node_modules/x.js": "1",
    "hello_world-0.0.1.neko-plugin": "an older build",
    "credentials.prod.json": "{}",
    "secrets-dev.yaml": "a: b",
    "service-account.json": "{}",
    kubeconfig: "apiVersion: v1",
    "logs/plugin.log": "line",
    "src/cache.sqlite": "db",
  };
  for (const [file, body] of Object.entries(clutter)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), body);
  }
  return dir;
}

async function archiveMembers(file: string): Promise<string[]> {
  const members: string[] = [];
  await list({ file, onReadEntry: (entry) => members.push(entry.path) });
  return members;
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Everything under `dir`, hidden entries included, as sorted relative paths. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe("neko-plugin build", () => {
  test("packs the manifest, code and static files with a SHA-256 list, and nothing else", async () => {
    const dir = helloWorldWithClutter();
    const out = path.join(tempDir(), "hello.neko-plugin");
    const progress: string[] = [];
    // The type-check build runs by default is covered by the e2e build and the refusal below; here it would only
    // add seconds.
    const result = await buildPluginArchive({ dir, out, typeCheck: false, onProgress: (line) => progress.push(line) });
    assert.ok(result.ok, result.ok ? "" : result.error);
    assert.equal(result.archivePath, out);
    const packed = ["index.ts", "plugin.toml", "static/app.js", "static/index.html", "static/style.css"];
    assert.deepEqual(await archiveMembers(out), ["neko-plugin.json", ...packed]);
    assert.deepEqual(result.excluded.map((entry) => entry.path).sort(), [
      ".env",
      ".env.local",
      ".git",
      "credentials.prod.json",
      "data",
      "hello_world-0.0.1.neko-plugin",
      "id_ed25519.pub",
      "id_rsa",
      "kubeconfig",
      "logs/plugin.log",
      "node_modules",
      "secrets-dev.yaml",
      "server.pem",
      "service-account.json",
      "src/cache.sqlite",
      "static/node_modules",
      "tls.key",
    ]);

    const { index } = result;
    assert.equal(index.format, "neko-plugin-archive/1");
    assert.equal(index.id, "hello_world");
    assert.equal(index.version, "0.1.0");
    assert.deepEqual(index.sdk, { recommended: "^0.1.0", supported: ">=0.1.0,<0.2.0" });
    assert.deepEqual(
      index.files,
      packed.map((file) => ({
        path: file,
        size: fs.statSync(path.join(dir, file)).size,
        sha256: sha256(path.join(dir, file)),
      })),
    );
    assert.ok(progress.some((line) => line.startsWith("packing 5 files")));
  });

  test("a [plugin.sdk] conflicts list goes into the index as one range joined with ||, as the list means", async () => {
    const root = tempDir();
    copyExamplePlugins(root, ["hello_world"]);
    const dir = path.join(root, "hello_world");
    const manifest = fs.readFileSync(path.join(dir, "plugin.toml"), "utf8");
    fs.writeFileSync(
      path.join(dir, "plugin.toml"),
      manifest.replace(/\[plugin\.sdk\]\n/, '[plugin.sdk]\nconflicts = ["<0.0.5", ">=9.0.0"]\n'),
    );
    const result = await buildPluginArchive({ dir, out: path.join(tempDir(), "x.neko-plugin"), typeCheck: false });
    assert.ok(result.ok, result.ok ? "" : result.error);
    assert.equal(result.index.sdk.conflicts, "<0.0.5 || >=9.0.0");
  });

  test("the default output is <id>-<version>.neko-plugin in the current folder, and two builds are identical", async () => {
    const dir = helloWorldWithClutter();
    const cwd = process.cwd();
    const outDir = tempDir();
    process.chdir(outDir);
    try {
      const first = await buildPluginArchive({ dir, typeCheck: false });
      assert.ok(first.ok);
      assert.equal(first.archivePath, path.join(fs.realpathSync(outDir), "hello_world-0.1.0.neko-plugin"));
      const bytes = fs.readFileSync(first.archivePath);
      const second = await buildPluginArchive({ dir, typeCheck: false });
      assert.ok(second.ok);
      assert.ok(bytes.equals(fs.readFileSync(second.archivePath)), "builds of the same folder are byte-identical");
    } finally {
      process.chdir(cwd);
    }
  });

  test("refuses a plugin whose manifest is refused, a missing entry module, or a link, and writes no archive", async () => {
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      ["malformed TOML", (dir) => fs.writeFileSync(path.join(dir, "plugin.toml"), "[plugin\nid = 1"), /plugin\.toml/],
      ["no entry module", (dir) => fs.rmSync(path.join(dir, "index.ts")), /entry module 'index\.ts' does not exist/],
      [
        "a link out of the folder",
        (dir) => fs.symlinkSync("/etc/hostname", path.join(dir, "static", "host.txt")),
        /static\/host\.txt: is a link/,
      ],
    ];
    for (const [name, breakIt, reason] of cases) {
      const dir = helloWorldWithClutter();
      breakIt(dir);
      const outDir = tempDir();
      const result = await buildPluginArchive({ dir, out: path.join(outDir, "x.neko-plugin"), typeCheck: false });
      assert.equal(result.ok, false, name);
      assert.match(result.ok ? "" : result.error, reason, name);
      assert.deepEqual(tree(outDir), [], `${name}: no archive, no partial file`);
    }
  });

  test("refuses a plugin that fails neko-plugin check (a type error, a class not decorated) and writes no archive", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["a type error", "  count: number = 'x';", /types: index\.ts:\d+:\d+ TS2322 Type 'string' is not assignable/],
      ["no @nekoPlugin", "", /class: 'HelloWorldPlugin' in index\.ts is not decorated with @nekoPlugin/],
    ];
    for (const [name, line, reason] of cases) {
      const dir = helloWorldWithClutter();
      const source = fs.readFileSync(path.join(dir, "index.ts"), "utf8");
      const broken =
        line === ""
          ? source.replace("@nekoPlugin\n", "")
          : source.replace("private counter = 0;", `private counter = 0;\n${line}`);
      assert.notEqual(broken, source, name);
      fs.writeFileSync(path.join(dir, "index.ts"), broken);
      const outDir = tempDir();
      // The type-check is asked for only where it is what fails.
      const result = await buildPluginArchive({
        dir,
        out: path.join(outDir, "x.neko-plugin"),
        typeCheck: line !== "",
      });
      assert.equal(result.ok, false, name);
      assert.match(result.ok ? "" : result.error, /does not pass neko-plugin check:/, name);
      assert.match(result.ok ? "" : result.error, reason, name);
      assert.deepEqual(tree(outDir), [], `${name}: no archive, no partial file`);
    }
  });
});

describe("neko-plugin install", () => {
  test("round trip: the installed folder holds exactly the packed files, byte for byte", async () => {
    const dir = helloWorldWithClutter();
    const archive = path.join(tempDir(), "hello.neko-plugin");
    assert.ok((await buildPluginArchive({ dir, out: archive, typeCheck: false })).ok);
    const pluginsDir = tempDir();
    const result = await installPluginArchive({ archivePath: archive, pluginsDir });
    assert.ok(result.ok, result.ok ? "" : result.error);
    assert.equal(result.dir, path.join(pluginsDir, "hello_world"));
    assert.equal(result.previousDir, undefined);
    assert.deepEqual(tree(pluginsDir), [
      "hello_world",
      "hello_world/index.ts",
      "hello_world/plugin.toml",
      "hello_world/static",
      "hello_world/static/app.js",
      "hello_world/static/index.html",
      "hello_world/static/style.css",
    ]);
    for (const file of ["index.ts", "plugin.toml", "static/app.js"]) {
      assert.equal(sha256(path.join(result.dir, file)), sha256(path.join(dir, file)));
    }
  });

  test("refuses an existing plugin folder without --force and leaves it alone", async () => {
    const pluginsDir = tempDir();
    const archive = path.join(tempDir(), "a.neko-plugin");
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", samplePluginFiles("sample"))));
    assert.ok((await installPluginArchive({ archivePath: archive, pluginsDir })).ok);
    fs.writeFileSync(path.join(pluginsDir, "sample", "index.ts"), "// edited by hand");
    const again = await installPluginArchive({ archivePath: archive, pluginsDir });
    assert.equal(again.ok, false);
    assert.match(again.ok ? "" : again.error, /sample exists already; pass --force/);
    assert.equal(fs.readFileSync(path.join(pluginsDir, "sample", "index.ts"), "utf8"), "// edited by hand");
    assert.deepEqual(tree(pluginsDir), ["sample", "sample/index.ts", "sample/plugin.toml"]);
  });

  describe("refuses an archive and writes nothing", () => {
    const files = samplePluginFiles("sample");
    const refusals: Array<[string, () => Buffer | Promise<Buffer>, RegExp]> = [
      [
        "a tampered member (changed bytes)",
        () => tamper(craftArchive(honestMembers("sample", files)), '"hi"', '"HI"'),
        /'index\.ts' does not match its checksum/,
      ],
      [
        "an extra member not in the list",
        () => craftArchive([...honestMembers("sample", files), { path: "static/extra.js", body: "evil()" }]),
        /member 'static\/extra\.js' is not in neko-plugin\.json \(an extra file\)/,
      ],
      [
        "a listed member that is missing",
        () =>
          craftArchive([
            indexMember("sample", { ...files, "more.ts": "x" }),
            ...honestMembers("sample", files).slice(1),
          ]),
        /'more\.ts' is listed in neko-plugin\.json but missing/,
      ],
      [
        "a member path with '..'",
        () => craftArchive([...honestMembers("sample", files), { path: "../escaped.txt", body: "x" }]),
        /member '\.\.\/escaped\.txt' has a '\.\.' segment/,
      ],
      [
        "a '..' hidden inside a path",
        () => craftArchive([...honestMembers("sample", files), { path: "static/../../escaped.txt", body: "x" }]),
        /has a '\.\.' segment/,
      ],
      [
        "an absolute member path",
        () => craftArchive([...honestMembers("sample", files), { path: "/tmp/neko-escaped.txt", body: "x" }]),
        /member '\/tmp\/neko-escaped\.txt' has an absolute path/,
      ],
      [
        "a symlink pointing out",
        () =>
          craftArchive([...honestMembers("sample", files), { path: "out", type: "SymbolicLink", linkpath: "/etc" }]),
        /member 'out' is a SymbolicLink; archives hold only files and folders/,
      ],
      [
        "a hard link",
        () => craftArchive([...honestMembers("sample", files), { path: "hard", type: "Link", linkpath: "index.ts" }]),
        /member 'hard' is a Link/,
      ],
      [
        "a device file",
        () => craftArchive([...honestMembers("sample", files), { path: "tty", type: "CharacterDevice" }]),
        /member 'tty' is a CharacterDevice/,
      ],
      [
        "a member twice",
        () => craftArchive([...honestMembers("sample", files), { path: "index.ts", body: "evil()" }]),
        /member 'index\.ts' appears twice/,
      ],
      [
        "a checksum list with a path-escaping id",
        () => craftArchive(honestMembers("../sample", files)),
        /neko-plugin\.json: id must match/,
      ],
      [
        "no checksum list",
        () => craftArchive(Object.entries(files).map(([p, body]) => ({ path: p, body }))),
        /it has no neko-plugin\.json/,
      ],
      [
        "more than 10 000 members",
        () => {
          const many: Record<string, string> = { ...files };
          for (let i = 0; i <= 10_000; i += 1) many[`static/f${i}.txt`] = "";
          return craftArchive(honestMembers("sample", many));
        },
        /it holds more than 10000 members/,
      ],
      ["a member declaring more than 256 MiB", () => zeroBomb(257), /it unpacks to more than 256 MiB/],
      ["a gzip stream inflating past the bound", () => zeroBomb(300), /it unpacks to more than 256 MiB/],
      ["bytes that are not gzip", () => Buffer.from("not an archive"), /it is not a gzip'd archive/],
      [
        // The tar parser would inflate the inner layer by itself, unbounded: a few KiB could become gigabytes.
        "a gzip inside the gzip",
        () => gzipSync(gzipSync(craftTar(honestMembers("sample", files)))),
        /a compressed archive inside the compressed one/,
      ],
      [
        "a member whose name holds an escape sequence",
        () =>
          craftArchive([
            indexMember("sample", { ...files, "\u001b]0;PWNED\u0007.txt": "x" }),
            ...honestMembers("sample", files).slice(1),
            { path: "\u001b]0;PWNED\u0007.txt", body: "x" },
          ]),
        /a control character in the path/,
      ],
      ["a gzip that holds no tar", () => gzipSync("x".repeat(2000)), /it is not a valid tar archive/],
      [
        "a truncated tar",
        () => gzipSync(craftTar(honestMembers("sample", files)).subarray(0, 1100)),
        /it is not a valid tar archive|is listed in neko-plugin\.json but missing/,
      ],
    ];
    for (const [name, make, reason] of refusals) {
      test(name, async () => {
        const pluginsDir = tempDir();
        const archive = path.join(tempDir(), "bad.neko-plugin");
        fs.writeFileSync(archive, await make());
        const result = await installPluginArchive({ archivePath: archive, pluginsDir });
        assert.equal(result.ok, false);
        const error = result.ok ? "" : result.error;
        assert.match(error, reason);
        assert.match(error, /^refused: .*nothing was written$/s);
        assert.deepEqual(tree(pluginsDir), []);
        assert.equal(fs.existsSync("/tmp/neko-escaped.txt"), false);
      });
    }
  });

  test("a packed plugin whose manifest is refused is not installed, and the old folder stays", async () => {
    const pluginsDir = tempDir();
    const archive = path.join(tempDir(), "a.neko-plugin");
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", samplePluginFiles("sample"))));
    assert.ok((await installPluginArchive({ archivePath: archive, pluginsDir })).ok);
    const broken = {
      ...samplePluginFiles("sample"),
      "plugin.toml": '[plugin]\nid = "sample"\nentry = "missing.ts:X"\n',
    };
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", broken)));
    const result = await installPluginArchive({ archivePath: archive, pluginsDir, force: true });
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.error, /does not load:\n.*entry module 'missing\.ts' does not exist/);
    assert.deepEqual(tree(pluginsDir), ["sample", "sample/index.ts", "sample/plugin.toml"]);
  });

  test("a new version that fails the check (throws at import) is not installed; the installed one stays as it was", async () => {
    const pluginsDir = tempDir();
    const archive = path.join(tempDir(), "a.neko-plugin");
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", samplePluginFiles("sample"))));
    assert.ok((await installPluginArchive({ archivePath: archive, pluginsDir })).ok);
    fs.mkdirSync(path.join(pluginsDir, "sample", "data"));
    fs.writeFileSync(path.join(pluginsDir, "sample", "data", "kept.json"), "{}");
    const before = fs.readFileSync(path.join(pluginsDir, "sample", "index.ts"), "utf8");
    const broken = {
      ...samplePluginFiles("sample"),
      "index.ts": 'const ready = false;\nif (!ready) throw new Error("not ready");\nexport class Sample {}\n',
    };
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", broken)));
    const result = await installPluginArchive({ archivePath: archive, pluginsDir, force: true });
    assert.equal(result.ok, false);
    assert.match(
      result.ok ? "" : result.error,
      /does not load:\n {2}importing index\.ts failed: not ready \(at index\.ts:2:/,
    );
    assert.deepEqual(tree(pluginsDir), [
      "sample",
      "sample/data",
      "sample/data/kept.json",
      "sample/index.ts",
      "sample/plugin.toml",
    ]);
    assert.equal(fs.readFileSync(path.join(pluginsDir, "sample", "index.ts"), "utf8"), before);
  });

  test("a refused plugin leaves no plugins folder behind when install made it; a file as plugins folder is an error", async () => {
    const parent = tempDir();
    const archive = path.join(tempDir(), "a.neko-plugin");
    const broken = { ...samplePluginFiles("sample"), "plugin.toml": '[plugin]\nid = "sample"\nentry = "index.ts"\n' };
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", broken)));
    const refused = await installPluginArchive({
      archivePath: archive,
      pluginsDir: path.join(parent, "new", "plugins"),
    });
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? "" : refused.error, /\[plugin\]\.entry must look like 'index\.ts:ClassName'/);
    assert.deepEqual(tree(parent), []);

    fs.writeFileSync(archive, craftArchive(honestMembers("sample", samplePluginFiles("sample"))));
    fs.writeFileSync(path.join(parent, "not-a-folder"), "");
    const onFile = await installPluginArchive({ archivePath: archive, pluginsDir: path.join(parent, "not-a-folder") });
    assert.equal(onFile.ok, false);
    assert.match(
      onFile.ok ? "" : onFile.error,
      /the plugins folder .*not-a-folder is not a folder; nothing was written/,
    );
    assert.deepEqual(tree(parent), ["not-a-folder"]);
  });

  test("--force replaces the plugin, keeps the old one as .<id>.previous, and moves data/ over", async () => {
    const pluginsDir = tempDir();
    const archive = path.join(tempDir(), "a.neko-plugin");
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", samplePluginFiles("sample", "v1"))));
    assert.ok((await installPluginArchive({ archivePath: archive, pluginsDir })).ok);
    fs.mkdirSync(path.join(pluginsDir, "sample", "data"));
    fs.writeFileSync(path.join(pluginsDir, "sample", "data", "store.json"), '{"kept":true}');
    // The running plugin has its journal open, and writes on during and after the install.
    const journal = fs.openSync(path.join(pluginsDir, "sample", "data", "journal.log"), "a");

    fs.writeFileSync(archive, craftArchive(honestMembers("sample", samplePluginFiles("sample", "v2"))));
    const result = await installPluginArchive({ archivePath: archive, pluginsDir, force: true });
    fs.writeSync(journal, "written after the install\n");
    fs.closeSync(journal);
    assert.ok(result.ok, result.ok ? "" : result.error);
    const previous = path.join(pluginsDir, ".sample.previous");
    assert.equal(result.previousDir, previous);
    assert.match(fs.readFileSync(path.join(pluginsDir, "sample", "index.ts"), "utf8"), /"v2"/);
    assert.match(fs.readFileSync(path.join(previous, "index.ts"), "utf8"), /"v1"/);
    assert.equal(fs.readFileSync(path.join(pluginsDir, "sample", "data", "store.json"), "utf8"), '{"kept":true}');
    assert.equal(
      fs.readFileSync(path.join(pluginsDir, "sample", "data", "journal.log"), "utf8"),
      "written after the install\n",
      "a write through a file the plugin had open lands in the installed version's data",
    );
    assert.equal(fs.existsSync(path.join(previous, "data")), false, "moved, not copied");

    // A third install replaces the kept version with v2; a rollback is two renames (docs/packaging.md#rollback).
    fs.writeFileSync(archive, craftArchive(honestMembers("sample", samplePluginFiles("sample", "v3"))));
    assert.ok((await installPluginArchive({ archivePath: archive, pluginsDir, force: true })).ok);
    assert.match(fs.readFileSync(path.join(previous, "index.ts"), "utf8"), /"v2"/);
    assert.deepEqual(
      fs.readdirSync(pluginsDir).sort(),
      [".sample.previous", "sample"],
      "no temp folder is left behind",
    );
  });
});

/** A gzip'd tar whose one member holds `mib` MiB of zeros: a few hundred KiB on disk. */
async function zeroBomb(mib: number): Promise<Buffer> {
  const header = Buffer.alloc(512);
  new Header({ path: "big.bin", type: "File", size: mib * 1024 * 1024, mode: 0o644, mtime: new Date(0) }).encode(
    header,
    0,
  );
  const gzip = createGzip({ level: 1 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => gzip.on("end", resolve));
  gzip.write(header);
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i += 1) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once("drain", resolve));
  }
  gzip.end(Buffer.alloc(1024));
  await done;
  return Buffer.concat(chunks);
}
