/**
 * The Python extension mounts (packages/python-sdk/plugin/sdk/_extensions.py) in one Python process with a plugin
 * runtime that has no host: what an extension may add to its host plugin's description, how it is named and taken
 * out, and how stop and inject meet. Each case runs a short script and asserts on the JSON it prints; what the host
 * would say of the description is asked of the host's own check (plugin-frame-problems.ts). The e2e test
 * (test/e2e/python-extensions.e2e.test.ts) covers extensions through real processes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { entriesChangedProblem } from "../packages/host/src/supervisor/plugin-frame-problems.ts";
import { PYTHON, PYTHON_SKIP } from "./support/python.ts";

const sdk = path.resolve(import.meta.dirname, "../packages/python-sdk");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-pyext-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const harness = `
import asyncio, json, os, sys, textwrap, time
sys.dont_write_bytecode = True
sys.path.insert(0, ${JSON.stringify(sdk)})
from plugin.sdk._runner import PluginRuntime
from plugin.sdk.base import PluginContext
from plugin.sdk.plugin import NekoPluginBase, plugin_entry, lifecycle, Ok

ROOT = sys.argv[1]
ran = []

class Host(NekoPluginBase):
    @plugin_entry(id="ping")
    def ping(self, **_):
        return Ok("pong")

    @lifecycle(id="shutdown")
    def shut(self, **_):
        ran.append("host shutdown")
        return Ok(None)

def make(plugin_id="host"):
    folder = os.path.join(ROOT, plugin_id)
    os.makedirs(folder, exist_ok=True)
    rt = PluginRuntime({"pluginId": plugin_id, "secret": "x",
                        "connection": {"routingId": "r", "endpoint": "ipc://" + os.path.join(ROOT, "none.sock")},
                        "context": {}})
    rt.loop = asyncio.get_running_loop()
    rt.ctx = PluginContext(rt, plugin_id=plugin_id, plugin_dir=folder, metadata={}, config={}, store_enabled=False)
    rt.instance = Host(rt.ctx)
    rt._collect(rt.instance)
    rt.extensions.plugin_started = True
    return rt

def ext(name, code, prefix="", folder=None, files=None):
    d = os.path.join(ROOT, folder or name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "__init__.py"), "w") as f:
        f.write(HEAD + textwrap.dedent(code))
    for k, v in (files or {}).items():
        with open(os.path.join(d, k), "w") as f:
            f.write(v)
    return {"id": name, "dir": d, "entryModule": os.path.join(d, "__init__.py"), "className": "Ext",
            "prefix": prefix, "manifest": {}, "config": {}}

def described(rt):
    return {"entries": [rt._descriptor(e) for e in rt.entries], "hooks": rt._hook_descriptors(),
            "extensions": rt.extensions.statuses()}

HEAD = "from plugin.sdk.extension import NekoExtensionBase, Ok, extension, extension_entry, extension_hook, lifecycle\\n"
`;

/**
 * Runs `body` (the inside of `async def main()`, which returns what is printed as JSON) after the harness; `ext()`
 * writes an extension's `__init__.py` (dedented, after the imports in HEAD).
 */
function py(name: string, body: string): Record<string, any> {
  const folder = fs.mkdtempSync(path.join(root, `${name}-`));
  const indented = body
    .trim()
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
  const script = `${harness}\nasync def main():\n${indented}\n\nprint(json.dumps(asyncio.run(main())))\n`;
  const run = spawnSync(PYTHON as string, ["-B", "-c", script, folder], { encoding: "utf8", timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] as string);
}

const skip = { skip: PYTHON_SKIP };

test("a failure reason of characters beyond U+FFFF is cut to the host's limit in UTF-16 units", skip, () => {
  const out = py(
    "reason",
    `
code = '''
@extension
class Ext(NekoExtensionBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        raise RuntimeError("\\\\U0001F4A5" * 5000)
'''
rt = make()
status = await rt.extensions.inject(ext("boom", code))
return {"status": status, "described": described(rt)}
`,
  );
  const reason: string = out.status.reason;
  assert.equal(out.status.state, "failed");
  assert.ok(reason.startsWith("its constructor threw: \u{1F4A5}"), reason.slice(0, 40));
  assert.equal(reason.length, 4096, "UTF-16 code units, as the host counts");
  assert.ok(reason.endsWith("\u{1F4A5}…"), "cut between characters, never inside a surrogate pair");
  assert.equal(entriesChangedProblem(out.described as never), undefined);
});

test(
  "an entry description the host would refuse fails the extension naming the field; the plugin's own is refused too",
  skip,
  () => {
    const out = py(
      "descriptor",
      `
rt = make()
decorated = await rt.extensions.inject(ext("declared", '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_entry(id="e", metadata=["tag"])
        def e(self, **_): return Ok(1)
'''))
# A description changed after the decorator checked it is checked again when the extension is prepared.
changed = await rt.extensions.inject(ext("changed", '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_entry(id="e")
        def e(self, **_): return Ok(1)
    Ext.e.__neko_meta__[0]["llmResultFields"] = ["ok", 7]
''', prefix="c_"))
kind = await rt.extensions.inject(ext("kind", '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_entry(id="e", kind=3)
        def e(self, **_): return Ok(1)
'''))
dynamic = rt.instance.register_dynamic_entry("dyn", lambda **_: Ok(1), metadata="tag")
rt.entries["ping"].meta["name"] = 5
try:
    rt._check_hello(rt._hello())
    hello = None
except Exception as error:
    hello = error.wire["message"]
rt.entries["ping"].meta["name"] = "ping"
return {"decorated": decorated, "changed": changed, "kind": kind, "dynamic": dynamic, "hello": hello,
        "entries": sorted(rt.entries), "described": described(rt)}
`,
    );
    assert.deepEqual(out.decorated, {
      id: "declared",
      state: "failed",
      reason:
        "importing __init__.py failed: ValueError: entry 'e': its metadata must be a table (a dict) or None, not list",
    });
    assert.deepEqual(out.changed, {
      id: "changed",
      state: "failed",
      reason: "entry 'c_e': its llmResultFields must be a list of strings or None, not list",
    });
    assert.equal(
      out.kind.reason,
      "importing __init__.py failed: ValueError: entry 'e': its kind must be a string, not int",
    );
    assert.equal(out.dynamic, false, "register_dynamic_entry refuses a metadata that is no table");
    assert.equal(out.hello, "entry 'ping': its name must be a string, not int");
    assert.deepEqual(out.entries, ["ping"]);
    assert.equal(entriesChangedProblem(out.described as never), undefined);
  },
);

test("a stop during an inject cancels it and the plugin's own shutdown still runs, in time", skip, () => {
  const out = py(
    "stop",
    `
rt = make()
rt.finished = asyncio.Event()
sent = []
rt._send_result = lambda i, r: sent.append(r)
# Injected and started: its shutdown never ends within the stop's limit.
await rt.extensions.inject(ext("hangs", '''
    import time
    @extension
    class Ext(NekoExtensionBase):
        @lifecycle(id="shutdown")
        def shutdown(self, **_):
            time.sleep(4)
            return Ok(None)
'''))
# Being injected when the stop comes: its startup takes 6 s.
slow = asyncio.ensure_future(rt.extensions.inject(ext("slow", '''
    import time
    @extension
    class Ext(NekoExtensionBase):
        @lifecycle(id="startup")
        def startup(self, **_):
            time.sleep(6)
            return Ok(None)
''')))
await asyncio.sleep(0.3)
began = time.monotonic()
await rt._shutdown("s1")
took = time.monotonic() - began
return {"took": took, "sent": sent, "ran": ran, "slow": await slow, "mounted": sorted(rt.extensions.mounted),
        "entries": sorted(rt.entries)}
`,
  );
  assert.deepEqual(out.sent, [{ ok: true, value: null }]);
  assert.deepEqual(out.ran, ["host shutdown"]);
  assert.deepEqual(out.slow, { id: "slow", state: "failed", reason: "the plugin stopped while it was being loaded" });
  assert.deepEqual(out.mounted, []);
  assert.deepEqual(out.entries, ["ping"]);
  assert.ok(out.took >= 1.9 && out.took < 3, `the extensions' 2 s, then the plugin's own (took ${out.took}s)`);
});

test(
  "an extension has no register_dynamic_entry, disable_entry, include_router, … (they would outlive it)",
  skip,
  () => {
    const out = py(
      "scoped",
      `
rt = make()
status = await rt.extensions.inject(ext("leaky", '''
    @extension
    class Ext(NekoExtensionBase):
        @lifecycle(id="startup")
        def startup(self, **_):
            self.register_dynamic_entry("dyn", lambda **_: Ok("still here"))
            return Ok(None)
'''))
await rt.extensions.inject(ext("probe", '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_entry(id="e")
        def e(self, **_): return Ok(1)
'''))
inst = rt.extensions.mounted["probe"].instance
refused = {}
for name in ("register_dynamic_entry", "unregister_dynamic_entry", "enable_entry", "disable_entry",
             "include_router", "exclude_router", "register_static_ui"):
    try:
        getattr(inst, name)("ping")
        refused[name] = None
    except NotImplementedError as error:
        refused[name] = str(error)
return {"status": status, "refused": refused, "entries": sorted(rt.entries), "enabled": rt.enabled.get("ping"),
        "dynamic": sorted(rt.dynamic)}
`,
    );
    assert.deepEqual(out.status, {
      id: "leaky",
      state: "failed",
      reason:
        "its startup failed: an extension has no register_dynamic_entry(): what it changed would outlive it (declare its entries with @extension_entry; self.host.register_dynamic_entry() changes the host plugin's own, for good)",
    });
    for (const [name, message] of Object.entries(out.refused)) {
      assert.ok(String(message).startsWith(`an extension has no ${name}(): `), `${name}: ${message}`);
    }
    assert.equal(Object.keys(out.refused).length, 7);
    assert.deepEqual([out.entries, out.enabled, out.dynamic], [["e", "ping"], true, []]);
  },
);

test(
  "each extension folder is a package of its own; the host's plugins.<folder> stays its own; take-out drops them",
  skip,
  () => {
    const out = py(
      "modules",
      `
rt = make()
host_pkg = sys.modules.setdefault("plugins.host", type(sys)("plugins.host"))
sys.modules["plugin.plugins.host"] = host_pkg
who = '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_entry(id="who")
        def who(self, **_): return Ok(WHO)
'''
a = ext("a-b", "WHO = 'A'" + textwrap.dedent(who), prefix="a_")
b = ext("a_b", "WHO = 'B'" + textwrap.dedent(who), prefix="b_")
st = os.stat(a["entryModule"])
os.utime(b["entryModule"], ns=(st.st_atime_ns, st.st_mtime_ns))
# An extension whose folder is called as the host plugin's package.
h = ext("clash", "WHO = 'ext'" + textwrap.dedent(who), prefix="h_", folder=os.path.join("elsewhere", "host"))
states = [(await rt.extensions.inject(s))["state"] for s in (a, b, h)]
calls = [(await rt._call({"id": e, "entryId": e, "args": {}})).get("value") for e in ("a_who", "b_who", "h_who")]
host_kept = sys.modules["plugins.host"] is host_pkg and sys.modules["plugin.plugins.host"] is host_pkg
aliased = sys.modules["plugins.a_b"].WHO
stamped = sorted(k.split("_")[0] for k in sys.modules if k.startswith("plugin.extensions."))
for i in ("a-b", "a_b", "clash"):
    await rt.extensions.remove(i)
left = [k for k in sys.modules if k.startswith("plugin.extensions.") or k in ("plugins.a_b", "plugin.plugins.a_b")]
return {"states": states, "calls": calls, "host_kept": host_kept and sys.modules["plugins.host"] is host_pkg,
        "aliased": aliased, "stamped": stamped, "left": left}
`,
    );
    assert.deepEqual(out.states, ["injected", "injected", "injected"]);
    assert.deepEqual(out.calls, ["A", "B", "ext"], "a-b and a_b with the same mtime are two packages");
    assert.equal(out.host_kept, true, "plugins.host / plugin.plugins.host stay the host plugin's");
    assert.equal(out.aliased, "A", "the first extension to claim plugins.a_b keeps it");
    assert.deepEqual(out.stamped, ["plugin.extensions.a", "plugin.extensions.a", "plugin.extensions.clash"]);
    assert.deepEqual(out.left, [], "take-out drops the stamped packages and the aliases");
  },
);

test("a re-inject while a timed-out import still runs says so instead of a misleading error", skip, () => {
  const out = py(
    "loading",
    `
import plugin.sdk._extensions as mounts
mounts.STEP_TIMEOUT_S = 0.5
rt = make()
spec = ext("slowimp", '''
    import time
    time.sleep(1.5)
    @extension
    class Ext(NekoExtensionBase):
        pass
''')
first = await rt.extensions.inject(spec)
second = await rt.extensions.inject(spec)
await asyncio.sleep(1.5)
third = await rt.extensions.inject(spec)
return [first, second, third]
`,
  );
  assert.deepEqual(out, [
    { id: "slowimp", state: "failed", reason: "loading its module did not finish within 0.5s" },
    {
      id: "slowimp",
      state: "failed",
      reason:
        "an earlier load of its module is still importing it (it did not finish in time); edit its entry file or restart the host plugin to load it again",
    },
    { id: "slowimp", state: "injected", reason: null },
  ]);
});

test(
  "a hook id an extension declares twice fails it naming the id; the same id in two extensions is two hooks",
  skip,
  () => {
    const out = py(
      "hooks",
      `
rt = make()
twice = await rt.extensions.inject(ext("twice", '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_hook(target="ping", id="audit")
        def one(self, **_): return None
        @extension_hook(target="ping", id="audit")
        def two(self, **_): return None
'''))
code = '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_hook(target="ping")
        def audit(self, **_): return None
'''
one = await rt.extensions.inject(ext("one", code))
two = await rt.extensions.inject(ext("two", code))
return {"twice": twice, "states": [one["state"], two["state"]],
        "hooks": sorted(h["id"] + "@" + h["source"] for h in rt._hook_descriptors())}
`,
    );
    assert.deepEqual(out.twice, { id: "twice", state: "failed", reason: "hook id 'audit' is declared twice" });
    assert.deepEqual(out.states, ["injected", "injected"]);
    assert.deepEqual(out.hooks, ["audit@extension:one", "audit@extension:two"]);
  },
);

test(
  "an extension has no self.db and no self.state of its own: each answers Err STORE_DISABLED naming it, no file is made",
  skip,
  () => {
    const out = py(
      "nodb",
      `
rt = make()
spec = ext("noted", '''
    @extension
    class Ext(NekoExtensionBase):
        @extension_entry(id="use_db")
        async def use_db(self, **_):
            session = await self.db.session()
            kv = await self.db.kv.set("k", 1)
            state = await self.state.save()
            return Ok([[type(r.error).__name__, r.error.code, str(r.error)] for r in (session, kv, state)])
''')
await rt.extensions.inject(spec)
answer = await rt._call({"id": "c1", "entryId": "use_db", "args": {}, "timeoutMs": 5000})
return {"answer": answer, "files": sorted(os.listdir(spec["dir"]))}
`,
    );
    const refused = (what: string) => [
      "SdkError",
      "STORE_DISABLED",
      `extension 'noted' has no ${what} (it has its own self.store)`,
    ];
    assert.deepEqual(out.answer, { ok: true, value: [refused("self.db"), refused("self.db"), refused("self.state")] });
    assert.deepEqual(out.files, ["__init__.py"]);
  },
);
