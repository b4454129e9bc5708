"""The process the neko-plugin host starts for a Python plugin (docs/python-plugins.md).

Started as ``python3 -u -B neko_plugin_runner.py`` with the environment and the bootstrap descriptor of
docs/wire-protocol.md; everything else is in ``plugin.sdk._runner``.
"""

import os
import sys

# This folder holds the `plugin` package (plugin.sdk.plugin, …): first on the path, so the original's imports resolve.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from plugin.sdk._runner import main  # noqa: E402

if __name__ == "__main__":
    main()
