/** `neko-plugin keys`, and what `worker` and `serve --workers` say to a mistake before anything starts. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readKeyFile } from "@neko/host";
import { makeTempDir } from "../../../test/support/plugin-fixtures.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/neko-plugin.js");
const dir = makeTempDir("neko-keys-");
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("keys writes a pair only its owner can read, prints the public key, and never replaces a key file", () => {
  const made = run("keys", "--out", "host.key", "--json");
  assert.equal(made.code, 0, made.stderr);
  const printed = JSON.parse(made.stdout) as { public: string; file: string };
  const file = path.join(dir, "host.key");
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const pair = readKeyFile(file);
  assert.equal(pair.publicKey, printed.public);
  assert.equal(pair.publicKey.length, 40);
  assert.notEqual(pair.secretKey, pair.publicKey);

  const again = run("keys", "--out", "host.key");
  assert.equal(again.code, 1);
  assert.match(again.stderr, /cannot write host\.key: it exists already/);
  assert.deepEqual(readKeyFile(file), pair, "the key file is unchanged");

  const plain = run("keys");
  assert.equal(plain.code, 0);
  assert.match(plain.stdout, /^public = "[^"]{40}"$/m);
  assert.match(plain.stdout, /^secret = "[^"]{40}"$/m);
});

test("a key file others can read, or one that is not a key file, is refused with the reason", () => {
  const open = path.join(dir, "open.key");
  fs.writeFileSync(open, fs.readFileSync(path.join(dir, "host.key")), { mode: 0o644 });
  fs.chmodSync(open, 0o644);
  assert.throws(() => readKeyFile(open), /can be read by other users \(mode 644\): chmod 600 it/);
  const junk = path.join(dir, "junk.key");
  fs.writeFileSync(junk, 'public = "short"\nsecret = "short"\n', { mode: 0o600 });
  assert.throws(() => readKeyFile(junk), /'public' is not a CURVE key/);
});

test("worker and serve --workers refuse bad options before starting anything", () => {
  const { public: hostPublic } = JSON.parse(run("keys", "--json").stdout) as { public: string };
  const cases: Array<[string[], RegExp]> = [
    [
      ["worker", "--connect", "ipc:///tmp/x", "-d", dir, "--server-key", hostPublic, "--key-file", "host.key"],
      /--connect must be tcp:\/\/HOST:PORT/,
    ],
    [
      ["worker", "--connect", "tcp://127.0.0.1:1", "-d", dir, "--server-key", "nope", "--key-file", "host.key"],
      /--server-key is not a CURVE public key/,
    ],
    [
      ["worker", "--connect", "tcp://127.0.0.1:1", "-d", dir, "--server-key", hostPublic, "--key-file", "none.key"],
      /cannot read the key file none\.key: ENOENT/,
    ],
    [["serve", "--no-builtin", "--workers", "tcp://127.0.0.1:0"], /--workers needs --key-file/],
    [
      ["serve", "--no-builtin", "--workers", "tcp://127.0.0.1:0", "--key-file", "host.key"],
      /--workers needs at least one --worker-key/,
    ],
    [["serve", "--no-builtin", "--key-file", "host.key"], /--key-file and --worker-key go with --workers/],
    [
      ["serve", "--no-builtin", "--workers", "tcp://127.0.0.1:0", "--key-file", "host.key", "--worker-key", "bad"],
      /a worker key is not a CURVE public key/,
    ],
  ];
  for (const [args, expected] of cases) {
    const result = run(...args);
    assert.equal(result.code, 1, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, expected, args.join(" "));
  }
});
