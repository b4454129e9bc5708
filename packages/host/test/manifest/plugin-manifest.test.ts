import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type PluginManifest, parseManifest } from "../../src/manifest/plugin-manifest.ts";

const FILE = "plugin.toml";
const HEADER = `[plugin]\nid = "hello"\nentry = "index.ts:Hello"\n`;

function valid(text: string): { manifest: PluginManifest; warnings: string[] } {
  const result = parseManifest(text, { file: FILE });
  if (!result.ok) assert.fail(`expected a valid manifest, got: ${result.problems.map((p) => p.message).join("; ")}`);
  return { manifest: result.manifest, warnings: result.warnings.map((w) => w.message) };
}

/** smol-toml builds tables without a prototype (so `__proto__` keys are harmless); compare against the same. */
function plain<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v) =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? Object.assign(Object.create(null), v) : v,
  );
}

function invalid(text: string): { messages: string[]; keys: (string | undefined)[]; partialId?: string } {
  const result = parseManifest(text, { file: FILE });
  if (result.ok) assert.fail("expected problems, the manifest was accepted");
  for (const problem of result.problems) assert.equal(problem.file, FILE);
  return {
    messages: result.problems.map((p) => p.message),
    keys: result.problems.map((p) => p.key),
    partialId: result.partialId,
  };
}

describe("parseManifest: a valid manifest", () => {
  test("a minimal manifest gets every default", () => {
    const { manifest, warnings } = valid(HEADER);
    const { raw, ...rest } = manifest;
    assert.deepEqual(rest, {
      id: "hello",
      entry: { module: "index.ts", className: "Hello" },
      name: "hello",
      description: "",
      version: "0.1.0",
      type: "plugin",
      dependencies: [],
      store: { enabled: true },
      database: { enabled: true, name: "hello.db" },
      permissions: { fsRead: [], fsWrite: [], childProcess: false, workerThreads: false, maxHeapMb: 256 },
      runtime: { enabled: true, autoStart: true, permissions: true, isolation: "process" },
      state: { persistMode: "off" },
      entries: [],
    });
    assert.deepEqual(raw, plain({ plugin: { id: "hello", entry: "index.ts:Hello" } }));
    assert.deepEqual(warnings, []);
  });

  test("every key of SPEC §2.1 is read and snake_case keys are mapped", () => {
    const { manifest, warnings } = valid(`
[plugin]
id = "full"
entry = "./src/main.mts:FullPlugin"
name = "Full plugin"
description = "Uses every key"
version = "1.2.3-beta.1"
type = "plugin"

[plugin.author]
name = "Ada"
email = "ada@example.com"

[plugin.sdk]
recommended = "^0.1.0"
supported = ">=0.1.0,<0.3.0"
untested = ">=0.3.0 <0.4.0"
conflicts = "<0.0.5 || >=9.0.0"

[[plugin.dependency]]
id = "hello_world"
version = "^1.0.0"

[[plugin.dependency]]
id = "legacy"
conflicts = true

[plugin.store]
enabled = false

[plugin.permissions]
fs_read = ["/etc/hosts"]
fs_write = ["/tmp/out"]
child_process = true
worker_threads = true
max_heap_mb = 512
allow_calls = ["hello_world", "notes"]

[[plugin.entries]]
id = "greet"
name = "Greet"
description = "Says hello"
input_schema = { type = "object", properties = { name = { type = "string" } } }
timeout = 2.5

[[plugin.entries]]
id = "ping"

[plugin_runtime]
enabled = false
auto_start = false
permissions = false
isolation = "thread"

[plugin_state]
persist_mode = "manual"

[my_settings]
greeting = "hi"
`);
    const { raw, ...rest } = manifest;
    assert.deepEqual(rest, {
      id: "full",
      entry: { module: "src/main.mts", className: "FullPlugin" },
      name: "Full plugin",
      description: "Uses every key",
      version: "1.2.3-beta.1",
      type: "plugin",
      author: { name: "Ada", email: "ada@example.com" },
      sdk: {
        recommended: "^0.1.0",
        supported: ">=0.1.0,<0.3.0",
        untested: ">=0.3.0 <0.4.0",
        conflicts: "<0.0.5 || >=9.0.0",
      },
      dependencies: [
        { id: "hello_world", providers: ["hello_world"], version: "^1.0.0", conflictRanges: [], conflicts: false },
        { id: "legacy", providers: ["legacy"], conflictRanges: [], conflicts: true },
      ],
      store: { enabled: false },
      database: { enabled: true, name: "full.db" },
      permissions: {
        fsRead: ["/etc/hosts"],
        fsWrite: ["/tmp/out"],
        childProcess: true,
        workerThreads: true,
        maxHeapMb: 512,
        allowCalls: ["hello_world", "notes"],
      },
      runtime: { enabled: false, autoStart: false, permissions: false, isolation: "thread" },
      state: { persistMode: "manual" },
      entries: [
        {
          id: "greet",
          name: "Greet",
          description: "Says hello",
          inputSchema: plain({ type: "object", properties: { name: { type: "string" } } }),
          timeout: 2.5,
        },
        { id: "ping" },
      ],
    });
    assert.deepEqual(raw.my_settings, plain({ greeting: "hi" }));
    assert.equal((raw.plugin as Record<string, unknown>).entry, "./src/main.mts:FullPlugin");
    assert.deepEqual(warnings, []);
  });

  test("an extension gets its host; prefix defaults to empty", () => {
    const { manifest } = valid(`${HEADER}type = "extension"\n[plugin.host]\nplugin_id = "hello_world"\n`);
    assert.equal(manifest.type, "extension");
    assert.deepEqual(manifest.host, { pluginId: "hello_world", prefix: "" });
    const withPrefix = valid(`${HEADER}type = "extension"\n[plugin.host]\nplugin_id = "hw"\nprefix = "ext_"\n`);
    assert.deepEqual(withPrefix.manifest.host, { pluginId: "hw", prefix: "ext_" });
  });

  test("an adapter gets [adapter] with defaults; a plain plugin's [adapter] table stays configuration", () => {
    assert.deepEqual(valid(`${HEADER}type = "adapter"\n`).manifest.adapter, { mode: "gateway", priority: 0 });
    const routed = valid(`${HEADER}type = "adapter"\n[adapter]\nmode = "router"\npriority = 5\nroutes = []\n`);
    assert.deepEqual(routed.manifest.adapter, { mode: "router", priority: 5 });
    assert.deepEqual(routed.warnings, [], "an adapter's own keys in [adapter] are not flagged");
    const plain = valid(`${HEADER}[adapter]\nmode = "anything"\n`);
    assert.equal(plain.manifest.adapter, undefined);
  });

  test("every accepted module extension, and paths that normalize inside the folder", () => {
    for (const module of ["a.ts", "a.mts", "a.js", "a.mjs", "lib/a.ts", "./a.ts", "lib/../a.ts"]) {
      const { manifest } = valid(`[plugin]\nid = "x"\nentry = "${module}:A"\n`);
      assert.equal(manifest.entry.module, module.replace(/^\.\//, "").replace("lib/../", ""), module);
    }
    assert.deepEqual(valid(`[plugin]\nid = "x"\nentry = "a.ts:$Cls_1"\n`).manifest.entry, {
      module: "a.ts",
      className: "$Cls_1",
    });
  });

  test("unknown keys in manifest tables are warnings; other top-level tables and config_profiles are not", () => {
    const { warnings } = valid(
      `${HEADER}entyr = "typo"\nconfig_profiles = { active = "dev" }\n[plugin.store]\nenable = true\n` +
        `[plugin_runtime]\nautostart = false\n[[plugin.entries]]\nid = "a"\ninputSchema = {}\n[own]\nx = 1\n`,
    );
    assert.deepEqual(warnings, [
      "plugin.toml: [plugin.store].enable is not a known key and is ignored",
      "plugin.toml: [[plugin.entries]]#1.inputSchema is not a known key and is ignored",
      "plugin.toml: [plugin].entyr is not a known key and is ignored",
      "plugin.toml: [plugin_runtime].autostart is not a known key and is ignored",
    ]);
  });

  test("[plugin.host] on a non-extension is ignored with a warning", () => {
    const { manifest, warnings } = valid(`${HEADER}[plugin.host]\nplugin_id = "other"\n`);
    assert.equal(manifest.host, undefined);
    assert.deepEqual(warnings, ["plugin.toml: [plugin].host is ignored: only an extension has a host plugin"]);
  });

  test("[plugin.database] in an extension's manifest is accepted with a warning: an extension has no this.db", () => {
    const { warnings } = valid(
      `${HEADER}type = "extension"\n[plugin.host]\nplugin_id = "hw"\n[plugin.database]\nname = "x.db"\n`,
    );
    assert.deepEqual(warnings, [
      "plugin.toml: [plugin].database is ignored: an extension has no this.db (it has its own store)",
    ]);
  });
});

test("[plugin_runtime] transport: absent is the host's default, 'pipe' and 'zmq' are kept", () => {
  assert.equal(valid(HEADER).manifest.runtime.transport, undefined);
  assert.equal("transport" in valid(HEADER).manifest.runtime, false);
  for (const transport of ["pipe", "zmq"] as const) {
    const { manifest, warnings } = valid(`${HEADER}[plugin_runtime]\ntransport = "${transport}"\n`);
    assert.equal(manifest.runtime.transport, transport);
    assert.deepEqual(warnings, []);
  }
});

describe("parseManifest: problems", () => {
  test("malformed TOML is one problem naming line and column", () => {
    const { messages, keys, partialId } = invalid(`[plugin]\nid = "x"\nentry = \n`);
    assert.deepEqual(messages, ["plugin.toml: invalid TOML at line 3, column 9: invalid value"]);
    assert.deepEqual(keys, [undefined]);
    assert.equal(partialId, undefined);
  });

  test("the file name given is the one reported", () => {
    const result = parseManifest("[plugin]\n", { file: "plugins/x/plugin.toml" });
    assert.equal(result.ok, false);
    assert.deepEqual(!result.ok && result.problems[0], {
      file: "plugins/x/plugin.toml",
      key: "[plugin].id",
      message: "plugins/x/plugin.toml: [plugin].id is required",
    });
  });

  test("a missing [plugin] table", () => {
    assert.deepEqual(invalid(`[other]\nx = 1\n`).messages, ["plugin.toml: [plugin] is required"]);
    assert.deepEqual(invalid(`plugin = "x"\n`).messages, ["plugin.toml: [plugin] must be a table, not a string ('x')"]);
  });

  test("id and entry are required; both are reported at once", () => {
    const { messages, keys, partialId } = invalid(`[plugin]\nname = "x"\n`);
    assert.deepEqual(messages, ["plugin.toml: [plugin].id is required", "plugin.toml: [plugin].entry is required"]);
    assert.deepEqual(keys, ["[plugin].id", "[plugin].entry"]);
    assert.equal(partialId, undefined);
  });

  test("an id outside ^[a-zA-Z0-9_-]{1,128}$ is refused and not offered as partialId", () => {
    for (const id of ["has space", "dot.ted", "", "x".repeat(129), "ünï"]) {
      const { messages, partialId } = invalid(`[plugin]\nid = "${id}"\nentry = "index.ts:A"\n`);
      assert.deepEqual(messages, [
        `plugin.toml: [plugin].id must be 1 to 128 letters, digits, '_' or '-', not '${id}'`,
      ]);
      assert.equal(partialId, undefined);
    }
    assert.equal(valid(`[plugin]\nid = "${"x".repeat(128)}"\nentry = "index.ts:A"\n`).manifest.id.length, 128);
    assert.deepEqual(invalid(`[plugin]\nid = 7\nentry = "index.ts:A"\n`).messages, [
      "plugin.toml: [plugin].id must be a string, not 7",
    ]);
  });

  test("a reserved id is refused with the reason", () => {
    const { messages } = invalid(`[plugin]\nid = "metrics"\nentry = "index.ts:M"\n`);
    assert.deepEqual(messages, [
      "plugin.toml: [plugin].id 'metrics' is reserved: GET /plugin/metrics/{name} is a server route, so the plugin's own routes would be hidden",
    ]);
  });

  test("partialId is the id when it was readable despite other problems", () => {
    const { messages, partialId } = invalid(`[plugin]\nid = "hello"\nentry = "index.ts"\n`);
    assert.deepEqual(messages, ["plugin.toml: [plugin].entry must look like 'index.ts:ClassName', not 'index.ts'"]);
    assert.equal(partialId, "hello");
  });

  test("a Python entry: the original's module paths and __init__.py are Python, their module __init__.py (SPEC §3.8)", () => {
    const cases: Array<[string, { module: string; className: string; language?: "python" }]> = [
      ["plugin.plugins.notes:NotesPlugin", { module: "__init__.py", className: "NotesPlugin", language: "python" }],
      ["plugins.notes:NotesPlugin", { module: "__init__.py", className: "NotesPlugin", language: "python" }],
      ["__init__.py:NotesPlugin", { module: "__init__.py", className: "NotesPlugin", language: "python" }],
      ["./src/main.py:Main", { module: "src/main.py", className: "Main", language: "python" }],
      ["index.ts:Hello", { module: "index.ts", className: "Hello" }],
    ];
    for (const [entry, expected] of cases) {
      assert.deepEqual(valid(`[plugin]\nid = "x"\nentry = "${entry}"\n`).manifest.entry, expected, entry);
    }
  });

  test("entry must be <path>:<ClassName>", () => {
    for (const entry of ["index.ts", "index.ts:", ":Hello", "index.ts:1Hello", "index.ts:Hel-lo", ""]) {
      assert.deepEqual(
        invalid(`[plugin]\nid = "x"\nentry = "${entry}"\n`).messages,
        [`plugin.toml: [plugin].entry must look like 'index.ts:ClassName', not '${entry}'`],
        entry,
      );
    }
  });

  test("entry module must be a .ts/.mts/.js/.mjs/.py path relative to and inside the folder", () => {
    const cases: Array<[string, string[]]> = [
      [
        "index.txt:A",
        [
          "module 'index.txt' must end in .ts, .mts, .js, .mjs or .py, or be the original's 'plugins.<folder>' module path",
        ],
      ],
      [
        "index:A",
        ["module 'index' must end in .ts, .mts, .js, .mjs or .py, or be the original's 'plugins.<folder>' module path"],
      ],
      [
        "plugins.a-b:A",
        [
          "module 'plugins.a-b' must end in .ts, .mts, .js, .mjs or .py, or be the original's 'plugins.<folder>' module path",
        ],
      ],
      [
        "other.plugins.a:A",
        [
          "module 'other.plugins.a' must end in .ts, .mts, .js, .mjs or .py, or be the original's 'plugins.<folder>' module path",
        ],
      ],
      ["/abs/index.ts:A", ["module '/abs/index.ts' must be a path relative to the plugin folder"]],
      ["C:\\\\p\\\\index.ts:A", ["module 'C:\\p\\index.ts' must be a path relative to the plugin folder"]],
      [
        "my.plugin.py:Plugin",
        [
          "module 'my.plugin.py' cannot be imported by Python: 'my.plugin' is not a Python identifier (letters, digits and '_', not starting with a digit); rename it, e.g. to 'my_plugin'",
        ],
      ],
      [
        "lib-x/2fast.py:Plugin",
        [
          "module 'lib-x/2fast.py' cannot be imported by Python: 'lib-x' is not a Python identifier (letters, digits and '_', not starting with a digit); rename it, e.g. to 'lib_x'",
        ],
      ],
      [
        "lib/2fast.py:Plugin",
        [
          "module 'lib/2fast.py' cannot be imported by Python: '2fast' is not a Python identifier (letters, digits and '_', not starting with a digit); rename it, e.g. to '_2fast'",
        ],
      ],
      ["../index.ts:A", ["module '../index.ts' must stay inside the plugin folder"]],
      ["lib/../../index.ts:A", ["module 'lib/../../index.ts' must stay inside the plugin folder"]],
      ["..\\\\index.ts:A", ["module '..\\index.ts' must stay inside the plugin folder"]],
      [
        "../index.txt:A",
        [
          "module '../index.txt' must stay inside the plugin folder",
          "module '../index.txt' must end in .ts, .mts, .js, .mjs or .py, or be the original's 'plugins.<folder>' module path",
        ],
      ],
    ];
    for (const [entry, sentences] of cases) {
      const { messages, partialId } = invalid(`[plugin]\nid = "x"\nentry = "${entry}"\n`);
      assert.deepEqual(
        messages,
        sentences.map((sentence) => `plugin.toml: [plugin].entry ${sentence}`),
        entry,
      );
      assert.equal(partialId, "x");
    }
  });

  test("type must be one of the three paradigms", () => {
    assert.deepEqual(invalid(`${HEADER}type = "widget"\n`).messages, [
      "plugin.toml: [plugin].type must be one of 'plugin', 'extension', 'adapter', not 'widget'",
    ]);
  });

  test("version must be semver when given", () => {
    assert.deepEqual(invalid(`${HEADER}version = "1.0"\n`).messages, [
      "plugin.toml: [plugin].version must be a semver version like '1.2.3', not '1.0'",
    ]);
    assert.equal(valid(`${HEADER}version = "2.0.0"\n`).manifest.version, "2.0.0");
  });

  test("an extension requires [plugin.host].plugin_id, naming another plugin", () => {
    const missing = `${HEADER}type = "extension"\n`;
    assert.deepEqual(invalid(missing).messages, ["plugin.toml: [plugin.host].plugin_id is required for an extension"]);
    assert.deepEqual(invalid(`${missing}[plugin.host]\nprefix = "x_"\n`).messages, [
      "plugin.toml: [plugin.host].plugin_id is required for an extension",
    ]);
    assert.deepEqual(invalid(`${missing}[plugin.host]\nplugin_id = "hello"\n`).messages, [
      "plugin.toml: [plugin.host].plugin_id must name another plugin, not the extension itself ('hello')",
    ]);
    assert.deepEqual(invalid(`${missing}[plugin.host]\nplugin_id = "hw"\nprefix = "x y"\n`).messages, [
      "plugin.toml: [plugin.host].prefix must be letters, digits, '_' or '-', not 'x y'",
    ]);
  });

  test("an unparseable version range is a problem naming the key and the text", () => {
    assert.deepEqual(invalid(`${HEADER}[plugin.sdk]\nsupported = ">=banana"\n`).messages, [
      "plugin.toml: [plugin.sdk].supported '>=banana' is not a version range",
    ]);
    assert.deepEqual(invalid(`${HEADER}[plugin.sdk]\nconflicts = ">=0.1.0,<banana"\nrecommended = ""\n`).messages, [
      "plugin.toml: [plugin.sdk].recommended '' is not a version range",
      "plugin.toml: [plugin.sdk].conflicts '>=0.1.0,<banana' is not a version range",
    ]);
    assert.deepEqual(invalid(`${HEADER}[[plugin.dependency]]\nid = "a"\nversion = "latest!"\n`).messages, [
      "plugin.toml: [[plugin.dependency]]#1.version 'latest!' is not a version range",
    ]);
  });

  test("a wrong type on any optional key names that key", () => {
    const cases: Array<[string, string]> = [
      [`name = 1`, "[plugin].name must be a string, not 1"],
      [`description = true`, "[plugin].description must be a string, not a boolean"],
      [`version = 1.5`, "[plugin].version must be a string, not 1.5"],
      [`type = ["plugin"]`, "[plugin].type must be a string, not an array"],
      [`author = "Ada"`, "[plugin].author must be a table, not a string ('Ada')"],
      [`[plugin.author]\nname = 3`, "[plugin.author].name must be a string, not 3"],
      [`[plugin.author]\nemail = []`, "[plugin.author].email must be a string, not an array"],
      [`sdk = "^0.1.0"`, "[plugin].sdk must be a table, not a string ('^0.1.0')"],
      [`[plugin.sdk]\nrecommended = 1`, "[plugin.sdk].recommended must be a string, not 1"],
      [`[plugin.sdk]\nuntested = ["^1.0.0"]`, "[plugin.sdk].untested must be a string, not an array"],
      [`dependency = { id = "a" }`, "[plugin].dependency must be an array of tables, not a table"],
      [`dependency = ["a"]`, "[plugin].dependency must contain only tables, not a string ('a')"],
      [
        `[[plugin.dependency]]\nversion = "^1.0.0"`,
        "[[plugin.dependency]]#1.id is required (or the original's entry, custom_event or providers)",
      ],
      [
        `[[plugin.dependency]]\nid = "a"\nconflicts = 3`,
        "[[plugin.dependency]]#1.conflicts must be true / false, a version range or a list of version ranges",
      ],
      [`store = true`, "[plugin].store must be a table, not a boolean"],
      [`[plugin.store]\nenabled = "no"`, "[plugin.store].enabled must be a boolean, not a string ('no')"],
      [
        `[plugin.permissions]\nfs_read = "/etc"`,
        "[plugin.permissions].fs_read must be an array of strings, not a string ('/etc')",
      ],
      [`[plugin.permissions]\nfs_write = ["/a", 2]`, "[plugin.permissions].fs_write must contain only strings, not 2"],
      [`[plugin.permissions]\nchild_process = 1`, "[plugin.permissions].child_process must be a boolean, not 1"],
      [
        `[plugin.permissions]\nworker_threads = "true"`,
        "[plugin.permissions].worker_threads must be a boolean, not a string ('true')",
      ],
      [`[plugin.permissions]\nmax_heap_mb = 0`, "[plugin.permissions].max_heap_mb must be a positive integer, not 0"],
      [
        `[plugin.permissions]\nmax_heap_mb = 1.5`,
        "[plugin.permissions].max_heap_mb must be a positive integer, not 1.5",
      ],
      [
        `[plugin.permissions]\nallow_calls = "*"`,
        "[plugin.permissions].allow_calls must be an array of strings, not a string ('*')",
      ],
      [
        `[plugin.permissions]\nallow_calls = ["a b"]`,
        "[plugin.permissions].allow_calls contains 'a b', which is not a plugin id",
      ],
      [`entries = "greet"`, "[plugin].entries must be an array of tables, not a string ('greet')"],
      [`[[plugin.entries]]\nname = "x"`, "[[plugin.entries]]#1.id is required"],
      [
        `[[plugin.entries]]\nid = "a.b"`,
        "[[plugin.entries]]#1.id must be 1 to 128 letters, digits, '_' or '-', not 'a.b'",
      ],
      [`[[plugin.entries]]\nid = "a"\nname = 1`, "[[plugin.entries]]#1.name must be a string, not 1"],
      [
        `[[plugin.entries]]\nid = "a"\ndescription = {}`,
        "[[plugin.entries]]#1.description must be a string, not a table",
      ],
      [
        `[[plugin.entries]]\nid = "a"\ninput_schema = "{}"`,
        "[[plugin.entries]]#1.input_schema must be a table, not a string ('{}')",
      ],
      [`[[plugin.entries]]\nid = "a"\ntimeout = -1`, "[[plugin.entries]]#1.timeout must be a positive number, not -1"],
      [
        `[[plugin.entries]]\nid = "a"\ntimeout = 2024-01-01`,
        "[[plugin.entries]]#1.timeout must be a positive number, not a date",
      ],
    ];
    for (const [snippet, sentence] of cases) {
      // Keys written before any sub-table header belong to [plugin].
      assert.deepEqual(invalid(`${HEADER}${snippet}\n`).messages, [`plugin.toml: ${sentence}`], snippet);
    }
    const topLevel: Array<[string, string]> = [
      [`plugin_runtime = 1`, "[plugin_runtime] must be a table, not 1"],
      [`[plugin_runtime]\nenabled = "yes"`, "[plugin_runtime].enabled must be a boolean, not a string ('yes')"],
      [`[plugin_runtime]\nauto_start = 0`, "[plugin_runtime].auto_start must be a boolean, not 0"],
      [`[plugin_runtime]\npermissions = "off"`, "[plugin_runtime].permissions must be a boolean, not a string ('off')"],
      [`[plugin_runtime]\ntransport = "tcp"`, "[plugin_runtime].transport must be one of 'zmq', 'pipe', not 'tcp'"],
      [`[plugin_runtime]\nisolation = "vm"`, "[plugin_runtime].isolation must be one of 'process', 'thread', not 'vm'"],
      [`[plugin_runtime]\nisolation = true`, "[plugin_runtime].isolation must be a string, not a boolean"],
      [
        `[plugin_state]\npersist_mode = "always"`,
        "[plugin_state].persist_mode must be one of 'off', 'auto', 'manual', not 'always'",
      ],
      [`[plugin_state]\npersist_mode = false`, "[plugin_state].persist_mode must be a string, not a boolean"],
    ];
    for (const [snippet, sentence] of topLevel) {
      // Written first: after the [plugin] header a bare key would belong to [plugin].
      assert.deepEqual(invalid(`${snippet}\n${HEADER}`).messages, [`plugin.toml: ${sentence}`], snippet);
    }
    const adapter = `${HEADER}type = "adapter"\n`;
    assert.deepEqual(invalid(`${adapter}[adapter]\nmode = "proxy"\npriority = "high"\n`).messages, [
      "plugin.toml: [adapter].mode must be one of 'gateway', 'router', 'bridge', 'hybrid', not 'proxy'",
      "plugin.toml: [adapter].priority must be an integer, not a string ('high')",
    ]);
  });

  test("fs_read and fs_write paths: relative or absolute, kept as written; '*', '~' and empty paths are refused", () => {
    const { manifest } = valid(
      `${HEADER}[plugin.permissions]\nfs_read = ["../shared", "/srv/x"]\nfs_write = ["out"]\n`,
    );
    assert.deepEqual(manifest.permissions.fsRead, ["../shared", "/srv/x"]);
    assert.deepEqual(manifest.permissions.fsWrite, ["out"]);
    assert.deepEqual(
      invalid(`${HEADER}[plugin.permissions]\nfs_write = ["/tmp/*", "~/notes", " "]\nfs_read = ["a\\u0000b"]\n`)
        .messages,
      [
        "plugin.toml: [plugin.permissions].fs_read contains a path with a NUL character",
        "plugin.toml: [plugin.permissions].fs_write contains '/tmp/*': '*' is not allowed (name the folder itself: that grants everything in it)",
        "plugin.toml: [plugin.permissions].fs_write contains '~/notes': '~' is not expanded; write the absolute path",
        "plugin.toml: [plugin.permissions].fs_write contains an empty path",
      ],
    );
  });

  test("a second entry with the same id is a problem naming the first", () => {
    assert.deepEqual(invalid(`${HEADER}[[plugin.entries]]\nid = "a"\n[[plugin.entries]]\nid = "a"\n`).messages, [
      "plugin.toml: [[plugin.entries]]#2.id 'a' is already declared by [[plugin.entries]]#1",
    ]);
  });

  test("every problem is collected, not only the first", () => {
    const { keys, partialId } = invalid(`
[plugin]
id = "many"
entry = "../x.py:1"
type = "thing"
version = "one"
[plugin.sdk]
supported = "nope"
[plugin.permissions]
max_heap_mb = -5
[plugin_state]
persist_mode = "sometimes"
`);
    assert.deepEqual(keys, [
      "[plugin].entry",
      "[plugin].version",
      "[plugin].type",
      "[plugin.sdk].supported",
      "[plugin.permissions].max_heap_mb",
      "[plugin_state].persist_mode",
    ]);
    assert.equal(partialId, "many");
  });
});

describe("parseManifest: the original's keys", () => {
  test("[plugin.sdk] conflicts may be a list; compatible is read as supported with a warning", () => {
    const { manifest, warnings } = valid(
      `${HEADER}[plugin.sdk]\ncompatible = ">=0.1.0,<0.3.0"\nconflicts = ["<0.0.5", ">=9"]\n`,
    );
    assert.deepEqual(plain(manifest.sdk ?? {}), plain({ supported: ">=0.1.0,<0.3.0", conflicts: ["<0.0.5", ">=9"] }));
    assert.deepEqual(warnings, [
      "plugin.toml: [plugin.sdk].compatible is read as [plugin.sdk].supported (its older name); rename it to `supported`",
    ]);
    assert.deepEqual(invalid(`${HEADER}[plugin.sdk]\ncompatible = "^0.1"\nsupported = "^0.1"\n`).messages, [
      "plugin.toml: [plugin.sdk].compatible and [plugin.sdk].supported are both given: `compatible` is the old name of `supported`; keep one",
    ]);
    assert.deepEqual(invalid(`${HEADER}[plugin.sdk]\nconflicts = ["<1", "nope!", 3]\n`).messages, [
      "plugin.toml: [plugin.sdk].conflicts must contain only strings, not 3",
    ]);
    assert.deepEqual(invalid(`${HEADER}[plugin.sdk]\nconflicts = ["<1", "nope!"]\n`).messages, [
      "plugin.toml: [plugin.sdk].conflicts 'nope!' is not a version range",
    ]);
    assert.deepEqual(invalid(`${HEADER}[plugin.sdk]\nconflicts = []\n`).messages, [
      "plugin.toml: [plugin.sdk].conflicts is an empty list: give at least one range",
    ]);
  });

  test("[[plugin.dependency]] by entry, custom_event and providers, with untested / supported / conflicts", () => {
    const { manifest, warnings } = valid(`${HEADER}
[[plugin.dependency]]
entry = "timer:start"
untested = ">=1.0.0,<2.0.0"
supported = ">=1.0.0,<1.5.0"
conflicts = ["1.2.0", ">=1.4.0 <1.4.3"]

[[plugin.dependency]]
custom_event = "timer:tick:every_second"

[[plugin.dependency]]
providers = ["tts_a", "tts_b"]

[[plugin.dependency]]
providers = ["tts_a", "tts_b"]
entry = "speak"
conflicts = "<0.2"
`);
    assert.deepEqual(warnings, []);
    assert.deepEqual(manifest.dependencies, [
      {
        id: "timer",
        providers: ["timer"],
        entry: "start",
        supported: ">=1.0.0,<1.5.0",
        untested: ">=1.0.0,<2.0.0",
        conflictRanges: ["1.2.0", ">=1.4.0 <1.4.3"],
        conflicts: false,
      },
      {
        id: "timer",
        providers: ["timer"],
        customEvent: { eventType: "tick", eventId: "every_second" },
        conflictRanges: [],
        conflicts: false,
      },
      { id: "tts_a", providers: ["tts_a", "tts_b"], conflictRanges: [], conflicts: false },
      { id: "tts_a", providers: ["tts_a", "tts_b"], entry: "speak", conflictRanges: ["<0.2"], conflicts: false },
    ]);
  });

  test("a [[plugin.dependency]] of the wrong shape names the key", () => {
    const dep = (body: string) => invalid(`${HEADER}[[plugin.dependency]]\n${body}\n`).messages;
    assert.deepEqual(dep(`entry = "greet"`), [
      "plugin.toml: [[plugin.dependency]]#1.entry must look like 'plugin_id:entry_id', not 'greet'",
    ]);
    assert.deepEqual(dep(`entry = "a:b:c"`), [
      "plugin.toml: [[plugin.dependency]]#1.entry must look like 'plugin_id:entry_id', not 'a:b:c'",
    ]);
    assert.deepEqual(dep(`custom_event = "a:tick"`), [
      "plugin.toml: [[plugin.dependency]]#1.custom_event must look like 'plugin_id:event_type:event_id', not 'a:tick'",
    ]);
    assert.deepEqual(dep(`id = "a"\nentry = "a:b"`), [
      "plugin.toml: [[plugin.dependency]]#1.entry cannot be given with id: one dependency names one thing",
    ]);
    assert.deepEqual(dep(`id = "a"\nproviders = ["b"]`), [
      "plugin.toml: [[plugin.dependency]]#1.providers cannot be given with id: list every acceptable plugin in providers",
    ]);
    assert.deepEqual(dep(`providers = []`), ["plugin.toml: [[plugin.dependency]]#1.providers is an empty list"]);
    assert.deepEqual(dep(`providers = ["a b"]`), [
      "plugin.toml: [[plugin.dependency]]#1.providers contains 'a b', which is not a plugin id",
    ]);
    assert.deepEqual(dep(`providers = ["a"]\nentry = "x:greet"`), [
      "plugin.toml: [[plugin.dependency]]#1.providers cannot be given with a plugin id in entry ('x')",
    ]);
    assert.deepEqual(dep(`entry = "a:b"\nconflicts = true`), [
      "plugin.toml: [[plugin.dependency]]#1.conflicts = true goes with id only (a plugin that must be absent)",
    ]);
    assert.deepEqual(dep(`id = "a"\nconflicts = true\nsupported = "^1"\nuntested = "^2"`), [
      "plugin.toml: [[plugin.dependency]]#1.supported cannot be given with conflicts = true (a plugin that must be absent): use version to say which versions conflict",
      "plugin.toml: [[plugin.dependency]]#1.untested cannot be given with conflicts = true (a plugin that must be absent): use version to say which versions conflict",
    ]);
    assert.equal(
      valid(`${HEADER}[[plugin.dependency]]\nid = "a"\nconflicts = true\nversion = "<2"\n`).manifest.dependencies[0]
        .conflicts,
      true,
    );
    assert.deepEqual(dep(`id = "a"\nuntested = "banana"`), [
      "plugin.toml: [[plugin.dependency]]#1.untested 'banana' is not a version range",
    ]);
  });

  test("top-level [[entries]] is read as [[plugin.entries]]; both at once is an error naming both", () => {
    const { manifest, warnings } = valid(
      `${HEADER}[[entries]]\nid = "greet"\ntimeout = 3\n\n[[entries]]\nid = "ping"\n`,
    );
    assert.deepEqual(
      manifest.entries.map((entry) => ({ ...entry })),
      [{ id: "greet", timeout: 3 }, { id: "ping" }],
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(invalid(`${HEADER}[[plugin.entries]]\nid = "a"\n[[entries]]\nid = "b"\n`).messages, [
      "plugin.toml: [entries] and [[plugin.entries]] are both given: keep one list (the top-level one is the original's place)",
    ]);
    // A top-level [entries] *table* is the plugin's configuration, like any other top-level table.
    const configured = valid(`${HEADER}[[plugin.entries]]\nid = "greet"\n[entries]\nmax = 3\n`);
    assert.deepEqual(configured.warnings, []);
    assert.deepEqual(
      configured.manifest.entries.map((entry) => entry.id),
      ["greet"],
    );
    assert.deepEqual({ ...(configured.manifest.raw.entries as object) }, { max: 3 });
    assert.deepEqual(valid(`${HEADER}[entries]\nmax = 3\n`).manifest.entries, []);
    assert.deepEqual(invalid(`${HEADER}[[entries]]\nid = "a"\n[[entries]]\nid = "a"\n`).messages, [
      "plugin.toml: [[entries]]#2.id 'a' is already declared by [[entries]]#1",
    ]);
  });

  test("[plugin.database]: enabled and name; a name that leaves data/ is refused", () => {
    assert.deepEqual(valid(`${HEADER}[plugin.database]\nenabled = false\nname = "notes.sqlite"\n`).manifest.database, {
      enabled: false,
      name: "notes.sqlite",
    });
    const name = (value: string) => invalid(`${HEADER}[plugin.database]\nname = ${JSON.stringify(value)}\n`).messages;
    assert.deepEqual(name("../x"), [
      "plugin.toml: [plugin.database].name '../x' must be a plain file name inside data/, without '/' or '\\'",
    ]);
    assert.deepEqual(name(".."), ["plugin.toml: [plugin.database].name '..' must not contain '..'"]);
    assert.deepEqual(name("a\\b.db"), [
      "plugin.toml: [plugin.database].name 'a\\b.db' must be a plain file name inside data/, without '/' or '\\'",
    ]);
    assert.deepEqual(name(""), ["plugin.toml: [plugin.database].name must be a file name, not empty"]);
    assert.deepEqual(name("store.sqlite"), [
      "plugin.toml: [plugin.database].name 'store.sqlite' is the store's file (this.store)",
    ]);
    assert.deepEqual(name(".neko-state.json"), [
      "plugin.toml: [plugin.database].name '.neko-state.json' is the frozen-state file (freeze / persist_mode)",
    ]);
    assert.deepEqual(name(".NEKO-STATE.json. "), [
      "plugin.toml: [plugin.database].name '.NEKO-STATE.json. ' is the frozen-state file (freeze / persist_mode)",
    ]);
    assert.deepEqual(name(".neko-state.json.4242.0a0b0c0d.tmp"), [
      "plugin.toml: [plugin.database].name '.neko-state.json.4242.0a0b0c0d.tmp' is the frozen-state file (freeze / persist_mode)",
    ]);
    assert.deepEqual(name("Store.SQLITE-wal"), [
      "plugin.toml: [plugin.database].name 'Store.SQLITE-wal' is the store's file (this.store)",
    ]);
    assert.deepEqual(name("logs"), [
      "plugin.toml: [plugin.database].name 'logs' is the folder of this.fileLogger's files",
    ]);
    assert.equal(
      valid(`${HEADER}[plugin.database]\nname = "neko-state.json"\n`).manifest.database.name,
      "neko-state.json",
    );
  });

  test("[plugin_state] backend: the original's values; 'memory' warns, anything else is refused", () => {
    assert.deepEqual(valid(`${HEADER}[plugin_state]\nbackend = "file"\n`).warnings, []);
    assert.deepEqual(valid(`${HEADER}[plugin_state]\nbackend = "memory"\n`).warnings, [
      "plugin.toml: [plugin_state].backend = 'memory' is not supported: frozen state is saved to data/ as with 'file'",
    ]);
    assert.deepEqual(invalid(`${HEADER}[plugin_state]\nbackend = "redis"\n`).messages, [
      "plugin.toml: [plugin_state].backend must be one of 'file', 'memory', not 'redis'",
    ]);
  });

  test("unknown-key warnings are kept when the manifest also has problems", () => {
    const result = parseManifest(`${HEADER}colour = "red"\nversion = "x"\n[plugin.store]\nenabeld = false\n`, {
      file: FILE,
    });
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.warnings.map((w) => w.message),
      [
        "plugin.toml: [plugin.store].enabeld is not a known key and is ignored",
        "plugin.toml: [plugin].colour is not a known key and is ignored",
      ],
    );
  });
});
