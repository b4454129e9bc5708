"""Entries that push the Python runtime to its limits (test/e2e/python-runtime-limits.e2e.test.ts)."""
import threading
import time

from plugin.sdk.plugin import NekoPluginBase, Ok, SdkError, around_entry, neko_plugin, plugin_entry


@neko_plugin
class LimitsPlugin(NekoPluginBase):
    @plugin_entry(id="hooked", timeout=5)
    def hooked(self, **_):
        time.sleep(0.05)
        return Ok({"ran": "entry"})

    @around_entry(target="hooked")
    def wrap(self, *, proceed, args, **_):
        time.sleep(0.3)  # every call holds a worker thread before it proceeds
        return proceed()

    @plugin_entry(id="hooked_async", timeout=5)
    async def hooked_async(self, **_):
        return Ok({"ran": "async entry"})

    @around_entry(target="hooked_async")
    def wrap_async(self, *, proceed, args, **_):
        time.sleep(0.3)
        return proceed()

    @plugin_entry(id="quick", timeout=2)
    def quick(self, **_):
        return Ok({"threads": threading.active_count()})

    @plugin_entry(id="emit_unsendable")
    def emit_unsendable(self, **_):
        answers = {}
        for name, payload in (("object", {"f": object()}), ("big_int", {"n": 2 ** 70})):
            answer = self.bus.emit("limits_news", payload)
            answers[name] = [answer.error.code, answer.error.message] if answer.is_err() else "ok"
        return Ok(answers)

    @plugin_entry(id="call_unsendable")
    async def call_unsendable(self, **_):
        answer = await self.plugins.call_entry("py_limits:quick", {"n": 2 ** 70})
        return Ok([answer.error.code, answer.error.message] if answer.is_err() else "ok")

    @plugin_entry(id="log_bad_format")
    def log_bad_format(self, **_):
        self.logger.info("value {0.missing_attribute}", 1)
        return Ok("logged")

    @plugin_entry(id="store_limits")
    def store_limits(self, **_):
        self.store.set("small", 1)
        try:
            self.store.set("big", "x" * (16 * 1024 * 1024))
            oversize = "stored"
        except SdkError as error:
            oversize = [error.code, str(error), error.details]
        trusted_schema = self.store._open().execute("PRAGMA trusted_schema").fetchone()[0]
        return Ok({"oversize": oversize, "trusted_schema": trusted_schema})

    @plugin_entry(id="stuck", timeout=0.2)
    def stuck(self, **_):
        time.sleep(600)
        return Ok(None)
