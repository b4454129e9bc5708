"""A plain Python plugin; py_ext_extra adds entries and hooks to it without changing it."""

import os

from plugin.sdk.plugin import NekoPluginBase, Ok, neko_plugin, plugin_entry


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
