"""An extension of py_ext_host, in the original's style: its entries appear under py_ext_host (with the prefix
`extra_`), its hooks join py_ext_host's chain, and it can be switched off and on while py_ext_host runs."""

import os

from plugin.sdk.extension import (
    Err,
    NekoExtensionBase,
    Ok,
    SdkError,
    extension,
    extension_entry,
    extension_hook,
    lifecycle,
    timer_interval,
)

from .texts import loud


@extension
class ExtraExtension(NekoExtensionBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.pings = 0
        self.ticks = 0

    @lifecycle(id="startup")
    def startup(self, **_):
        self.bus.on("py_ext.ping", self._ping)
        self.host.kept_extension = self  # so a test can use it after the extension is taken out
        return Ok(None)

    def _ping(self, payload, event):
        self.pings += 1

    @timer_interval(id="tick", seconds=60)
    def tick(self, **_):
        self.ticks += 1

    @extension_entry(id="whoami", description="Where the extension runs")
    def whoami(self, **_):
        return Ok({
            "pid": os.getpid(),
            "extension_id": self.extension_id,
            "host_id": self.host_id,
            "prefix": self.prefix,
            "plugin_id": self.plugin_id,
            "config_dir": str(self.config_dir),
            "host_shared": self.host.shared(),
            "pings": self.pings,
        })

    @extension_entry(id="shout", input_schema={"type": "object", "properties": {"name": {"type": "string"}},
                                               "required": ["name"]})
    async def shout(self, name: str, **_):
        greeting = self.host.greet(name=name)
        blocked = await self.config.get("guard.blocked_names", [])
        return Ok({"message": loud(greeting.value["message"]), "blocked": blocked})

    @extension_entry(id="remember", input_schema={"type": "object", "properties": {"value": {"type": "number"}}})
    def remember(self, value: float = 0, **_):
        self.store.set("value", value)
        return Ok({"value": self.store.get("value"), "data": str(self.data_path())})

    @extension_entry(id="note", input_schema={"type": "object", "properties": {"note": {"type": "string"}}})
    async def note(self, note: str = "", **_):
        written = await self.config.set("guard.note", note)
        return Ok(await self.config.get("guard.note")) if written.is_ok() else written

    @extension_hook(target="greet", timing="before")
    async def guard(self, *, args, **_):
        if args.get("name") in await self.config.get("guard.blocked_names", []):
            return Err(SdkError(f"'{args.get('name')}' may not be greeted", code="NAME_BLOCKED"))
        return None

    @extension_hook(target="greet", timing="after")
    def stamp(self, *, result, **_):
        if result.is_ok():
            return Ok({**result.value, "trail": [*result.value["trail"], "py_ext_extra"]})
        return None

    @extension_hook(target="shout", timing="after")
    def own(self, *, result, **_):
        # "shout" names its own entry: extra_shout under the host plugin.
        return Ok({**result.value, "hooked": True}) if result.is_ok() else None

    @lifecycle(id="config_change")
    def config_change(self, *, new_config, **_):
        if "Everyone" in ((new_config.get("guard") or {}).get("blocked_names") or []):
            return Err(SdkError("'Everyone' may not be blocked", code="CONFIG_REFUSED"))
        return Ok(None)
