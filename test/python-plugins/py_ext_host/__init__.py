"""A plain Python plugin; py_ext_extra adds entries and hooks to it without changing it."""

import os

from plugin.sdk.plugin import NekoPluginBase, Ok, SdkError, neko_plugin, plugin_entry


@neko_plugin
class ExtHostPlugin(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.greeted = 0

    def shared(self):
        """Public surface an extension reaches through self.host."""
        return {"greeted": self.greeted, "pid": os.getpid()}

    @plugin_entry(id="greet", input_schema={"type": "object", "properties": {"name": {"type": "string",
                                                                                       "default": "World"}}})
    def greet(self, name: str = "World", **_):
        self.greeted += 1
        return Ok({"message": f"Hello, {name}!", "trail": []})

    @plugin_entry(id="poke_kept")
    async def poke_kept(self, **_):
        """Uses the extension object it was handed (kept_extension) after that extension may have been taken out."""
        kept = getattr(self, "kept_extension", None)
        if kept is None:
            return Ok(None)
        try:
            kept.store.get("value")
            store = "read"
        except SdkError as error:
            store = error.code
        written = await kept.config.set("guard.note", "late")
        return Ok({"store": store, "config": "written" if written.is_ok() else written.error.code})
