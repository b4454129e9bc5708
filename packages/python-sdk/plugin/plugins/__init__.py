"""`plugin.plugins.<id>`: the runner registers the plugin's folder here (and as `plugins.<id>`), as the original did."""
