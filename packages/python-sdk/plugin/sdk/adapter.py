"""`from plugin.sdk.adapter import …`: the plugin names, and `NekoAdapterPlugin`. Adapters' gateway pipeline is not
served by the Python runtime yet (docs/python-plugins.md); an adapter runs as a plain plugin."""

from .plugin import *  # noqa: F401,F403
from .plugin import NekoPluginBase, __all__ as _plugin_all


class NekoAdapterPlugin(NekoPluginBase):
    pass


__all__ = [*_plugin_all, "NekoAdapterPlugin"]
