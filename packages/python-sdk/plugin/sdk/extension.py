"""`from plugin.sdk.extension import …`: the plugin names, and `NekoExtensionBase`. An extension written in Python is
not injected into its host plugin yet (docs/python-plugins.md); its module imports."""

from .plugin import *  # noqa: F401,F403
from .plugin import NekoPluginBase, __all__ as _plugin_all


class NekoExtensionBase(NekoPluginBase):
    pass


__all__ = [*_plugin_all, "NekoExtensionBase"]
