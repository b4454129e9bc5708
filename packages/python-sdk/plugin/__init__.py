"""The original N.E.K.O.'s `plugin` package, as neko-plugin's Python runtime provides it (docs/python-plugins.md)."""
