"""Every name the original SDK has that the earlier fixtures do not import, used as an original plugin uses it."""

from __future__ import annotations

from typing import Optional

from plugin.sdk.plugin import (
    NEKO_PLUGIN_META_ATTR,
    NEKO_PLUGIN_TAG,
    EntryKind,
    LlmToolMeta,
    NekoPluginBase,
    Ok,
    PluginI18n,
    PluginRouter,
    PluginSettings,
    SettingsField,
    lifecycle,
    llm_tool,
    neko_plugin,
    plugin_entry,
    quick_action,
    tr,
    ui,
)
from plugin.sdk.plugin.settings import create_settings_safe, get_hot_fields

KIND: EntryKind = "service"


class NamesSettings(PluginSettings):
    model_config = {"toml_section": "settings"}

    interval: int = SettingsField(30, hot=True, ge=5, le=3600, description="seconds between scans")
    label: str = SettingsField("plain", description="a label")
    retries: int = 3


class ToolsRouter(PluginRouter):
    def __init__(self):
        super().__init__(name="tools")
        self.mounted = 0
        self.unmounted = 0

    def on_mount(self):
        self.mounted += 1

    def on_unmount(self):
        self.unmounted += 1

    @plugin_entry(id="echo")
    def echo(self, text: str):
        return Ok({"text": text, "plugin_id": self.plugin_id})


@neko_plugin
class NamesPlugin(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.router = ToolsRouter()
        self.include_router(self.router, prefix="tools_")
        self.settings = NamesSettings()

    @lifecycle(id="startup")
    async def startup(self, **_):
        section = (await self.config.dump(timeout=5.0)).get("settings")
        self.settings = create_settings_safe(NamesSettings, section if isinstance(section, dict) else None)
        return Ok({"status": "ready"})

    # -- input_schema inferred from the signature --
    @plugin_entry(id="add", kind=KIND)
    def add(self, a: int, b: int = 2, note: Optional[str] = None):
        return Ok({"sum": a + b, "note": note})

    @plugin_entry(id="loose")
    def loose(self, word: str = "x", **_):
        return Ok({"word": word})

    # -- @llm_tool, alone and stacked with @plugin_entry --
    @llm_tool(name="get_weather", description="Weather of a city",
              parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
              timeout=5)
    async def get_weather(self, *, city: str, **_):
        return {"city": city, "temp_c": 21}

    @plugin_entry(id="shout")
    @llm_tool(name="shout", parameters={"type": "object", "properties": {"text": {"type": "string"}}})
    def shout(self, text: str = ""):
        return Ok(text.upper())

    @plugin_entry(id="tools")
    def tools(self, action: str = "list", name: str = "", **_):
        if action == "add":
            self.register_llm_tool(name=name, description="made at run time", parameters=None,
                                   handler=lambda **kw: {"made": name, "got": kw})
        elif action == "remove":
            return Ok({"removed": self.unregister_llm_tool(name), "tools": [t["name"] for t in self.list_llm_tools()]})
        elif action == "bad":
            out = {}
            for label, call in (("name", lambda: self.register_llm_tool(name="bad name!", handler=print)),
                                ("dup", lambda: self.register_llm_tool(name="get_weather", handler=print)),
                                ("timeout", lambda: self.register_llm_tool(name="t0", handler=print, timeout=0))):
                try:
                    call()
                    out[label] = None
                except Exception as error:  # noqa: BLE001
                    out[label] = f"{type(error).__name__}: {error}"
            return Ok(out)
        meta = getattr(type(self).get_weather, "__neko_llm_tool_meta__")
        return Ok({"tools": self.list_llm_tools(), "meta_is": isinstance(meta, LlmToolMeta)})

    # -- quick_action, ui.action --
    @quick_action(icon="bolt", priority=5)
    @plugin_entry(id="quick")
    def quick(self):
        return Ok("quick")

    @plugin_entry(id="quick_kw", quick_action=True)
    @ui.action(label="Run it", tone="primary", order=2)
    def quick_kw(self):
        return Ok("kw")

    # -- list actions --
    @plugin_entry(id="list_actions")
    def list_actions(self, step: str = "get", **_):
        if step == "set":
            self.set_list_actions([{"id": "open", "label": "Open"}, {"id": "close", "label": "Close"}])
        elif step == "register":
            self.register_list_action({"id": " open ", "label": "Open again"})
        elif step == "clear":
            self.clear_list_actions()
        elif step == "bad":
            out = []
            for actions in ([{"label": "no id"}], ["not a dict"]):
                try:
                    self.set_list_actions(actions)
                except (TypeError, ValueError) as error:
                    out.append(f"{type(error).__name__}: {error}")
            return Ok(out)
        return Ok(self.get_list_actions())

    # -- i18n --
    @plugin_entry(id="i18n")
    def translate(self, locale: Optional[str] = None, **_):
        ref = tr("greet", default="Hi", name="Neko")
        return Ok({
            "greet": self.i18n.t("greet", locale=locale, name="Neko"),
            "only_en": self.i18n.t("only_en", locale=locale),
            "bye": self.i18n.t("bye", locale="en", name="Neko"),
            "missing": self.i18n.t("nope", locale=locale, default="fallback {name}", name="N"),
            "ref": ref,
            "resolved": self.i18n.resolve({"title": ref, "items": [tr("only_en")]}, locale=locale),
            "locales": sorted(self.i18n.messages),
            "default_locale": self.i18n.default_locale,
            "standalone": PluginI18n({"en": {"k": "v"}}).t("k"),
        })

    # -- settings --
    @plugin_entry(id="settings")
    def settings_(self, **_):
        bad = None
        try:
            NamesSettings.model_validate({"interval": "soon"})
        except ValueError as error:
            bad = str(error)
        return Ok({"values": self.settings.model_dump(), "hot": sorted(get_hot_fields(NamesSettings)),
                   "schema": NamesSettings.model_json_schema()["properties"]["interval"], "bad": bad})

    # -- folders and constants --
    @plugin_entry(id="paths")
    def paths(self, part: str = "x", **_):
        cache = None
        try:
            cache = str(self.cache_path(part))
        except ValueError as error:
            cache = f"ValueError: {error}"
        return Ok({"plugin_dir": str(self.plugin_dir), "storage_dir": str(self.storage_dir),
                   "storage_exists": self.storage_dir.is_dir(), "runtime_config_path": str(self.runtime_config_path),
                   "cache": cache, "cache_root": str(self.cache_path()), "data": str(self.data_path()),
                   "tag": getattr(type(self), NEKO_PLUGIN_TAG, None), "meta_attr": NEKO_PLUGIN_META_ATTR})

    # -- entries --
    @plugin_entry(id="entries")
    def entries(self, **_):
        collected = self.collect_entries()
        return Ok({"enabled_add": self.is_entry_enabled("add"), "unknown": self.is_entry_enabled("nope"),
                   "add_schema": collected["add"].meta.input_schema, "add_kind": collected["add"].meta.kind,
                   "has_tool": "__llm_tool__get_weather" in collected,
                   "static_ui_before": self.get_static_ui_config()})

    @plugin_entry(id="toggle")
    def toggle(self, entry: str, enabled: bool, **_):
        changed = self.enable_entry(entry) if enabled else self.disable_entry(entry)
        return Ok({"changed": changed, "enabled": self.is_entry_enabled(entry),
                   "collected": entry in self.collect_entries()})

    @plugin_entry(id="static_ui")
    def static_ui(self, **_):
        return Ok({"registered": self.register_static_ui("static"), "config": self.get_static_ui_config()})

    # -- router methods --
    @plugin_entry(id="router")
    async def router_ops(self, step: str = "info", **_):
        r = self.router
        if step == "add":
            async def double(n: int = 0, **_):
                return Ok(n * 2)
            added = await r.add_entry("double", double, description="doubles n",
                                      input_schema={"type": "object", "properties": {"n": {"type": "integer"}}})
            again = await r.add_entry("double", double)
            empty = await r.add_entry("  ", double)
            clash = await r.add_entry("echo", double)
            return Ok({"added": added.is_ok(), "again": again.error.__class__.__name__ if again.is_err() else None,
                       "again_msg": str(again.error) if again.is_err() else None,
                       "empty": str(empty.error) if empty.is_err() else None,
                       "clash": str(clash.error) if clash.is_err() else None})
        if step == "remove":
            removed = await r.remove_entry("double")
            missing = await r.remove_entry("double")
            return Ok({"removed": removed.value, "missing": missing.value})
        if step == "exclude":
            return Ok({"excluded": self.exclude_router("tools"), "bound": r.is_bound, "ctx": r.ctx is None,
                       "unmounted": r.unmounted})
        if step == "include":
            self.include_router(r, prefix="tools_")
            return Ok({"bound": r.is_bound, "mounted": r.mounted})
        listed = (await r.list_entries()).unwrap()
        return Ok({"bound": r.is_bound, "entry_ids": r.entry_ids, "listed": [e["id"] for e in listed],
                   "ctx": r.ctx is self.ctx, "config": r.config is self.config, "plugins": r.plugins is self.plugins,
                   "store": r.store is self.store, "db": r.db is self.db, "mounted": r.mounted, "plugin_id": r.plugin_id})
