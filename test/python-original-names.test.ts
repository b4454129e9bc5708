/**
 * The Python SDK's ports of the original's helpers, checked in a Python process without a host: the input schema
 * inferred from a signature (packages/python-sdk/plugin/sdk/_signature_schema.py), `PluginSettings` without Pydantic
 * (plugin/sdk/plugin/settings.py) and the i18n lookup order (plugin/sdk/_i18n.py). The same names through a real host
 * are in test/e2e/python-original-names.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { makeTempDir } from "./support/plugin-fixtures.ts";
import { PYTHON, PYTHON_SKIP } from "./support/python.ts";

const sdk = path.resolve(import.meta.dirname, "../packages/python-sdk");

function runPython(body: string): any {
  const script = `import json, sys\nsys.path.insert(0, ${JSON.stringify(sdk)})\n${body}`;
  const ran = spawnSync(PYTHON as string, ["-B", "-c", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(ran.status, 0, ran.stderr);
  return JSON.parse(ran.stdout.trim().split("\n").at(-1) as string);
}

test("inferred input_schema: skipped names, *args / **kwargs, unresolvable hints, defaults JSON cannot carry", {
  skip: PYTHON_SKIP,
}, () => {
  const out = runPython(`
from typing import Annotated, Optional
from plugin.sdk._signature_schema import infer_input_schema
def a(self, cls, args, kwargs, _ctx, x, *rest, y: int = 1, **more): pass
def b(self, when: "NoSuchType", n: float = float("nan"), blob: bytes = b"", obj=object(), flag: bool = False): pass
def c(self, tags: list[str] = ["a"], opts: dict = {}, maybe: Optional[int] = 3, doc: Annotated[str, "a doc"] = "d"): pass
def d(self, count: int = "auto", ratio: float = 2): pass
print(json.dumps({k: infer_input_schema(f) for k, f in (("a", a), ("b", b), ("c", c), ("d", d))}))
`);
  assert.deepEqual(out.a, [
    { type: "object", properties: { x: {}, y: { type: "integer", default: 1 } }, required: ["x"] },
    true,
  ]);
  assert.deepEqual(out.b, [
    {
      type: "object",
      properties: { when: {}, n: { type: "number" }, blob: {}, obj: {}, flag: { type: "boolean", default: false } },
      required: ["when"],
    },
    false,
  ]);
  assert.deepEqual(out.c, [
    {
      type: "object",
      properties: {
        tags: { type: "array", items: { type: "string" }, default: ["a"] },
        opts: { type: "object", default: {} },
        maybe: { type: ["integer", "null"], default: 3 },
        doc: { type: "string", default: "d" },
      },
    },
    false,
  ]);
  assert.deepEqual(out.d, [
    { type: "object", properties: { count: { default: "auto" }, ratio: { type: "number", default: 2 } } },
    false,
  ]);
});

test("PluginSettings: types, constraints, required fields, defaults, create_settings_safe's fallbacks", {
  skip: PYTHON_SKIP,
}, () => {
  const out = runPython(`
from typing import Optional
from plugin.sdk.plugin import PluginSettings, SettingsField
from plugin.sdk.plugin.settings import create_settings_safe, get_hot_fields, SettingsValidationError
class S(PluginSettings):
    model_config = {"toml_section": "custom"}
    token: str
    interval: int = SettingsField(30, hot=True, ge=5, le=60)
    ratio: float = 0.5
    name: str = SettingsField("x", min_length=1, max_length=3)
    tags: list[str] = SettingsField(default_factory=list)
    note: Optional[str] = None
def attempt(data):
    try:
        return S.model_validate(data).model_dump()
    except SettingsValidationError as error:
        return [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
print(json.dumps({
    "ok": attempt({"token": "t", "ratio": 1, "extra": 1}),
    "bool_is_not_int": attempt({"token": "t", "interval": True}),
    "bad": attempt({"interval": 99, "name": "long", "tags": [1], "note": 3}),
    "safe": create_settings_safe(S, {"token": "t", "interval": 1, "name": "", "ratio": "x"}).model_dump(),
    "hot": sorted(get_hot_fields(S)),
    "config": S.model_config,
    "required": S.model_json_schema().get("required"),
}))
`);
  assert.deepEqual(out.ok, { token: "t", interval: 30, ratio: 1.0, name: "x", tags: [], note: null });
  assert.deepEqual(out.bool_is_not_int, [{ loc: ["interval"], msg: "Input should be a valid integer" }]);
  assert.deepEqual(out.bad, [
    { loc: ["token"], msg: "Field required" },
    { loc: ["interval"], msg: "Input should be less than or equal to 60" },
    { loc: ["name"], msg: "Input should have at most 3 items or characters" },
    { loc: ["tags"], msg: "[0] Input should be a valid string" },
    { loc: ["note"], msg: "Input should be a valid string" },
  ]);
  assert.deepEqual(out.safe, { token: "t", interval: 30, ratio: 0.5, name: "x", tags: [], note: null });
  assert.deepEqual(out.hot, ["interval"]);
  assert.deepEqual(out.config, { extra: "ignore", validate_default: true, toml_section: "custom" });
  assert.deepEqual(out.required, ["token"]);
});

test("PluginI18n: lookup order, placeholders, oversized and linked locale files are skipped", {
  skip: PYTHON_SKIP,
}, () => {
  const dir = makeTempDir();
  try {
    const locales = path.join(dir, "i18n");
    fs.mkdirSync(locales);
    fs.writeFileSync(path.join(locales, "en.json"), JSON.stringify({ a: "A {x} {{ y }} {z}", only: "en" }));
    fs.writeFileSync(path.join(locales, "ja.json"), JSON.stringify({ a: "ja" }));
    fs.writeFileSync(path.join(locales, "de.json"), JSON.stringify({ a: "x".repeat(600 * 1024) }));
    fs.writeFileSync(path.join(dir, "secret.json"), JSON.stringify({ a: "secret" }));
    fs.symlinkSync(path.join(dir, "secret.json"), path.join(locales, "fr.json"));
    fs.writeFileSync(path.join(locales, "es.json"), "not json");
    const out = runPython(`
from pathlib import Path
from plugin.sdk._i18n import load_plugin_i18n, tr
warned = []
i18n = load_plugin_i18n(Path(${JSON.stringify(dir)}), {"default_locale": "ja"}, warn=warned.append)
escaped = load_plugin_i18n(Path(${JSON.stringify(dir)}), {"locales_dir": "/etc"}, warn=warned.append)
try:
    tr("  ")
    empty = None
except ValueError as error:
    empty = str(error)
print(json.dumps({
    "locales": sorted(i18n.messages), "en": i18n.t("a", locale="en-GB", x=1, y=2),
    "default": i18n.t("a"), "fallback_en": i18n.t("only", locale="ja"), "unknown_key": i18n.t("zzz"),
    "escaped": sorted(escaped.messages), "warned": warned, "empty": empty,
}))
`);
    assert.deepEqual(out, {
      locales: ["en", "ja"],
      en: "A 1 2 {z}",
      default: "ja",
      fallback_en: "en",
      unknown_key: "zzz",
      escaped: [],
      warned: ["[plugin.i18n] locales_dir '/etc' leaves the plugin's folder; no translations are read"],
      empty: "i18n key must be non-empty",
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("inferred defaults: only exactly-JSON ones are carried; a tuple, int keys, an Enum, 2**70, a str subclass are left to Python", {
  skip: PYTHON_SKIP,
}, () => {
  const out = runPython(`
import enum
from plugin.sdk._signature_schema import infer_input_schema
from plugin.sdk._validation import compile_validator
class Color(enum.Enum):
    RED = "red"
class Name(str):
    pass
def f(self, pair=(1, 2), table: dict = {1: "a"}, big: int = 2**70, color=Color.RED, name=Name("n"),
      nested: dict = {"a": [1, 2.5, None, True, {"b": "c"}]}, low: int = -(2**63), bad_list: list = [(1,)]): pass
schema, _ = infer_input_schema(f)
print(json.dumps({"schema": schema, "filled": compile_validator(schema, refuse_unknown=True)({})}))
`);
  assert.deepEqual(out.schema, {
    type: "object",
    properties: {
      pair: {},
      table: { type: "object" },
      big: { type: "integer" },
      color: {},
      name: {},
      nested: { type: "object", default: { a: [1, 2.5, null, true, { b: "c" }] } },
      low: { type: "integer", default: -(2 ** 63) },
      bad_list: { type: "array" },
    },
  });
  // Only the carried defaults are filled in: Python applies the others itself.
  assert.deepEqual(Object.keys(out.filled).sort(), ["low", "nested"]);
});

test("unlisted_parameters: the skipped names a handler takes by name, not its bound self / cls", {
  skip: PYTHON_SKIP,
}, () => {
  const out = runPython(`
from plugin.sdk._signature_schema import unlisted_parameters
def a(self, x, _ctx=None, args=None, *, kwargs=None): pass
def b(cls, *args, **kwargs): pass
def c(x, cls=None, self=None): pass
def d(self, _ctx, /, y): pass
print(json.dumps([unlisted_parameters(f) for f in (a, b, c, d)]))
`);
  assert.deepEqual(out, [["_ctx", "args", "kwargs"], [], ["cls", "self"], []]);
});

test("PluginI18n: a locale file nested 100 000 deep is skipped, not a RecursionError out of the constructor", {
  skip: PYTHON_SKIP,
}, () => {
  const dir = makeTempDir();
  try {
    fs.mkdirSync(path.join(dir, "i18n"));
    fs.writeFileSync(path.join(dir, "i18n", "de.json"), "[".repeat(100_000));
    fs.writeFileSync(path.join(dir, "i18n", "en.json"), JSON.stringify({ a: "A" }));
    const out = runPython(`
from pathlib import Path
from plugin.sdk._i18n import load_plugin_i18n
i18n = load_plugin_i18n(Path(${JSON.stringify(dir)}), {})
print(json.dumps({"locales": sorted(i18n.messages), "a": i18n.t("a", locale="de")}))
`);
    assert.deepEqual(out, { locales: ["en"], a: "A" });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
