"""The process the neko-plugin host starts for a Python plugin (docs/python-plugins.md).

Started as ``python3 -u -B neko_plugin_runner.py`` with the environment and the bootstrap descriptor of
docs/wire-protocol.md; everything else is in ``plugin.sdk._runner``. ``neko_plugin_runner.py --check`` (the request
as JSON on stdin) is `neko-plugin check`'s: it loads the plugin without starting it and reports on fd 3
(``plugin.sdk._inspect``).
"""

import os
import sys

# This folder holds the `plugin` package (plugin.sdk.plugin, …): first on the path, so the original's imports resolve.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        from plugin.sdk._inspect import main as check  # noqa: E402

        # The request on stdin, not in argv: a manifest's schemas can pass argv's size limit (E2BIG).
        check(sys.stdin.read() or "{}")
    else:
        from plugin.sdk._runner import main  # noqa: E402

        main()
