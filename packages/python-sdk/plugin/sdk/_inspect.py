"""What `neko-plugin check` learns of a Python plugin without starting it (docs/cli.md#check): the runner started as
``neko_plugin_runner.py --check`` (the request as JSON on stdin) loads the plugin's package exactly as the plugin process does
(`load_plugin_class`), finds the class, and checks every entry, event handler, timer and hook it declares as the
runtime does when it takes them in (ids twice, hook conditions, each schema compiled by jsonschema). No instance is
made and no lifecycle runs. The report, ``{"items": [...]}`` in the shape of the TypeScript inspector's, goes on file
descriptor 3, so what the plugin's code prints cannot be taken for it."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

from ._host import pack
from ._marks import declared_marks
from ._runner import LoadFailure, load_plugin_class
from ._validation import compile_validator
from .base import NekoPluginBase

SDK_DIR = os.path.dirname(os.path.abspath(__file__))
REPORT_FD = 3


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _where(error: BaseException, plugin_dir: str) -> tuple[str, int] | None:
    """The innermost place in the plugin's own folder the error went through: its file (relative) and line."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        name = error.filename
        if os.path.isabs(name) and _inside(name, plugin_dir):
            return os.path.relpath(name, plugin_dir), error.lineno
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        # `<frozen importlib._bootstrap>`, `<string>`: no file at all (made absolute, they would seem to be in the
        # working directory, which is the plugin's folder).
        name = frame.filename
        if not name or name.startswith("<") or not os.path.isabs(name):
            continue
        if _inside(name, plugin_dir) and frame.lineno:
            found = (os.path.relpath(name, plugin_dir), frame.lineno)
    return found


def _inside(file: str, folder: str) -> bool:
    folder = os.path.abspath(folder)
    return os.path.commonpath([os.path.abspath(file), folder]) == folder


def _raised_by_sdk_declaration(error: BaseException) -> bool:
    """A decorator of the SDK refused what the class declares (a hook condition, an entry id, a timeout)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename).startswith(SDK_DIR + os.sep) and \
        os.path.basename(frames[-1].filename) in ("decorators.py", "_condition.py")


def _load_failure(error: BaseException, module_file: str, plugin_dir: str) -> dict:
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    where = _where(error, plugin_dir)
    if isinstance(error, SyntaxError):
        file, line = where or (module_file, error.lineno or 0)
        column = error.offset if isinstance(error.offset, int) and error.offset > 0 else None
        at = f"{file}:{line}" + (f":{column}" if column else "")
        item = {"level": "fail", "check": "load", "message": f"{at} syntax error: {error.msg}",
                "fix": f"fix the syntax at {at}", "file": file, "line": line}
        if column:
            item["column"] = column
        return item
    at = f"{where[0]}:{where[1]} " if where else ""
    place = {"file": where[0], "line": where[1]} if where else {}
    if _raised_by_sdk_declaration(error):
        return {"level": "fail", "check": "entries", "message": f"{at}{last}",
                "fix": "fix the decorator's arguments" + (f" at {where[0]}:{where[1]}" if where else ""), **place}
    if isinstance(error, ImportError):
        missing = getattr(error, "name", None)
        fix = (f"install '{missing}' for {sys.executable} (apt-get install python3-<package>, or pip), or fix the "
               "import") if isinstance(error, ModuleNotFoundError) and missing else "fix the import"
        return {"level": "fail", "check": "load", "message": f"{at}{last}", "fix": fix, **place}
    fix = (f"fix the code at {where[0]}:{where[1]}: it runs when the module is imported" if where
           else f"fix {module_file} so that it imports without an error")
    return {"level": "fail", "check": "load", "message": f"{at}{last}", "fix": fix, **place}


def _class_failure(error: LoadFailure, module_file: str, class_name: str) -> dict:
    message = error.wire["message"]
    fix = (f"declare it as `class {class_name}(NekoPluginBase)` (from plugin.sdk.plugin import NekoPluginBase)"
           if "does not inherit" in message
           else f"define `class {class_name}(NekoPluginBase)` in {module_file}, or name its class in [plugin].entry")
    return {"level": "fail", "check": "class", "message": message, "fix": fix, "file": module_file}


def _marks(cls: type) -> list[dict]:
    """Every mark the class's methods carry, as the runtime collects them (nearest class first)."""
    return [meta for _, meta in declared_marks(cls)]


def _declarations(cls: type, manifest_entries: list[dict]) -> list[dict]:
    items: list[dict] = []
    fail = lambda check, message, fix=None: items.append(  # noqa: E731
        {"level": "fail", "check": check, "message": message, **({"fix": fix} if fix else {})})
    marks = _marks(cls)
    entries = [m for m in marks if m["kind"] == "entry"]
    hooks = [m for m in marks if m["kind"] == "hook"]
    schemas = 0

    def schema_of(what: str, schema: Any) -> None:
        nonlocal schemas
        if schema is None:
            return
        try:
            compile_validator(schema, refuse_unknown=True)
            schemas += 1
        except Exception as error:  # noqa: BLE001 - jsonschema's SchemaError, a TypeError for a schema not a dict
            text = getattr(error, "message", None) or str(error).splitlines()[0]
            where = ".".join(str(part) for part in getattr(error, "path", None) or [])
            if where:
                text += f" (at {where})"
            fail("schemas", f"{what}: its input_schema is not a valid schema: {text}",
                 "fix the input_schema: it must be a JSON Schema (draft 2020-12) dict that jsonschema accepts")

    ids: set[str] = set()
    for meta in entries:
        if meta["id"] in ids:
            fail("entries", f"entry id '{meta['id']}' is declared twice", "give each entry its own id")
        ids.add(meta["id"])
        schema_of(f"entry '{meta['id']}'", meta.get("inputSchema"))
        try:
            pack({"value": meta.get("metadata")})
        except Exception as error:  # noqa: BLE001 - msgpack's TypeError: the runtime refuses the hello the same way
            fail("entries", f"entry '{meta['id']}': its metadata cannot be sent to the host: {error}",
                 "keep metadata to JSON values (dicts, lists, strings, numbers, booleans, None)")
    hook_ids: set[str] = set()
    for meta in hooks:
        if meta["id"] in hook_ids:
            fail("entries", f"hook id '{meta['id']}' is declared twice", "give each hook its own id")
        hook_ids.add(meta["id"])
    events = [m for m in marks if m["kind"] == "event"]
    for meta in events:
        schema_of(f"event '{meta['eventType']}:{meta['id']}'", meta.get("inputSchema"))
    for listed in manifest_entries:
        schema_of(f"plugin.toml [[plugin.entries]] '{listed.get('id')}'", listed.get("inputSchema"))
        if listed.get("id") not in ids:
            items.append({
                "level": "warn", "check": "entries", "file": "plugin.toml",
                "message": f"plugin.toml lists entry '{listed.get('id')}' in [[plugin.entries]], but the class "
                           "declares none by that id",
                "fix": f"add @plugin_entry(id=\"{listed.get('id')}\") to a method, or take it out of "
                       "[[plugin.entries]]",
            })
    if not any(i["check"] == "entries" and i["level"] == "fail" for i in items):
        listed_ids = f" ({', '.join(m['id'] for m in entries)})" if entries else ""
        rest = [
            _count(len(hooks), "hook"),
            _count(sum(1 for m in marks if m["kind"] == "timer"), "timer"),
            _count(len(events), "event handler"),
            _count(sum(1 for m in marks if m["kind"] == "message"), "message handler"),
        ]
        items.insert(0, {"level": "ok", "check": "entries",
                         "message": f"{_count(len(entries), 'entry', 'entries')}{listed_ids}, {', '.join(rest)}"})
    if not any(i["check"] == "schemas" for i in items):
        items.append({"level": "ok", "check": "schemas", "message": f"{_count(schemas, 'schema')} compiled"})
    return items


def inspect_plugin(request: dict) -> list[dict]:
    plugin_dir = os.path.abspath(request["pluginDir"])
    module_path = os.path.abspath(request["modulePath"])
    class_name = request["className"]
    module_file = os.path.relpath(module_path, plugin_dir)
    try:
        cls = load_plugin_class(plugin_dir=plugin_dir, module_path=module_path, class_name=class_name,
                                manifest=request.get("manifest") or {})
    except LoadFailure as error:
        return [{"level": "ok", "check": "load", "message": f"{module_file} imports without an error"},
                _class_failure(error, module_file, class_name)]
    except BaseException as error:  # noqa: BLE001 - whatever the module raised at import is the finding
        return [_load_failure(error, module_file, plugin_dir)]
    items = [{"level": "ok", "check": "load", "message": f"{module_file} imports without an error"}]
    decorated = getattr(cls, "__neko_plugin__", False) is True
    base = NekoPluginBase.__name__
    items.append({"level": "ok", "check": "class",
                  "message": f"{class_name} inherits {base}" + (" and is decorated" if decorated else "")})
    if not decorated:
        items.append({"level": "warn", "check": "class",
                      "message": f"{class_name} is not decorated with @neko_plugin (the original N.E.K.O. requires it)",
                      "fix": f"add @neko_plugin above `class {class_name}`", "file": module_file})
    items.extend(_declarations(cls, request.get("manifestEntries") or []))
    return items


def main(request_text: str) -> None:
    request = json.loads(request_text)
    items = inspect_plugin(request)
    sys.stdout.flush()
    os.write(REPORT_FD, (json.dumps({"items": items}) + "\n").encode("utf-8"))
    # Threads or sockets the module left open at import are not waited for.
    os._exit(0)
