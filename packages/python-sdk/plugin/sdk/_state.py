"""`self.state`: the original N.E.K.O.'s `PluginStatePersistence`, mapped onto this runtime's freeze / persist file
(docs/freeze.md): the fields a plugin names in `__freezable__` (or `freezable`) are kept as JSON values in
`data/.neko-state.json`, the file `freeze` and `[plugin_state] persist_mode` write. Each method answers `Ok` / `Err`:
`save(obj, reason)` writes the fields now (unmarked: not a freeze), `load(obj)` puts the saved ones back, `snapshot()`
answers them without touching the plugin, `clear()` deletes the file, `has_saved_state()`, `get_state_info()`.
Docs: docs/python-plugins.md#selfdb-and-selfstate.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING, Any

from .errors import SdkError
from .result import Err, Ok

if TYPE_CHECKING:
    from ._runner import PluginRuntime


class PluginStatePersistence:
    """`self.state` (see the module's docstring)."""

    def __init__(self, runtime: "PluginRuntime", *, refused: str | None = None) -> None:
        self._runtime = runtime
        self._refused = refused

    @property
    def backend(self) -> str:
        """The original's `"file"` / `"memory"` / `"off"`: here always the file in `data/`."""
        return "file"

    def _target(self, obj: Any) -> Any:
        target = obj if obj is not None else self._runtime.instance
        if target is None:
            raise SdkError("state: the plugin is not constructed yet", code="STORE_ERROR")
        return target

    def _read(self) -> dict | None:
        try:
            with open(self._runtime._state_file(), encoding="utf-8") as file:
                state = json.load(file)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise SdkError(f"state: the state file cannot be read: {error}", code="STORE_ERROR") from None
        if not isinstance(state, dict) or state.get("version") != 1 or not isinstance(state.get("fields"), dict):
            raise SdkError("state: the state file is not a state file of this SDK", code="STORE_ERROR")
        return state

    def _save(self, obj: Any, keys: Any, reason: str) -> bool:
        target = self._target(obj)
        names = [k for k in keys if isinstance(k, str)] if isinstance(keys, (list, tuple)) else None
        fields = {}
        for name in names if names is not None else self._runtime._freezable(target):
            if not hasattr(target, name):
                continue
            try:
                fields[name] = json.loads(json.dumps(getattr(target, name), allow_nan=False))
            except (TypeError, ValueError) as error:
                raise SdkError(f"state: {name} cannot be saved: {error} (only JSON values are kept)",
                               code="STORE_ERROR") from None
        if not fields:  # as the original: nothing to keep, nothing written (a saved state stays)
            return True
        try:
            self._runtime._save(fields, frozen=False)
        except OSError as error:
            raise SdkError(f"state: the state could not be saved: {error}", code="STORE_ERROR") from None
        self._runtime.logger.debug("state saved ({}): {}", reason, ", ".join(fields) or "no fields")
        return True

    def _load(self, obj: Any) -> bool:
        target = self._target(obj)
        state = self._read()
        if state is None:
            return False
        freezable = set(self._runtime._freezable(target))
        restored = {}
        for name, value in state["fields"].items():
            if name in freezable:
                setattr(target, name, value)
                restored[name] = value
        if target is self._runtime.instance:
            self._runtime.last_saved = restored
        return True

    def _snapshot(self) -> dict:
        state = self._read()
        return dict(state["fields"]) if state is not None else {}

    def _clear(self) -> bool:
        try:
            os.remove(self._runtime._state_file())
        except FileNotFoundError:
            pass
        except OSError as error:
            raise SdkError(f"state: the state file could not be deleted: {error}", code="STORE_ERROR") from None
        self._runtime.last_saved = None
        return True

    def _info(self) -> dict | None:
        state = self._read()
        if state is None:
            return None
        return {"version": state["version"], "plugin_id": self._runtime.plugin_id, "saved_at": state.get("savedAt"),
                "reason": "freeze" if state.get("frozen") is True else "save",
                "data_keys": list(state["fields"]), "size_bytes": os.path.getsize(self._runtime._state_file())}

    async def _result(self, op, *args: Any) -> Ok | Err:
        if self._refused is not None:
            return Err(SdkError(self._refused, code="STORE_DISABLED"))
        try:
            return Ok(await asyncio.to_thread(op, *args))
        except SdkError as error:
            return Err(error)

    async def save(self, obj: Any = None, freezable_keys: Any = None, reason: str = "manual") -> Ok | Err:
        """Writes the freezable fields of `obj` (the plugin unless given; `freezable_keys` instead of its
        `__freezable__` when given) now: `Ok(True)`."""
        return await self._result(self._save, obj, freezable_keys, reason)

    async def load(self, obj: Any = None) -> Ok | Err:
        """Puts the saved fields back on `obj` (the plugin unless given): `Ok(True)`, or `Ok(False)` with none saved."""
        return await self._result(self._load, obj)

    async def snapshot(self) -> Ok | Err:
        """The saved fields, `{}` with none."""
        return await self._result(self._snapshot)

    async def clear(self) -> Ok | Err:
        """Deletes the saved state: `Ok(True)`."""
        return await self._result(self._clear)

    async def has_saved_state(self) -> Ok | Err:
        return await self._result(lambda: os.path.exists(self._runtime._state_file()))

    async def get_state_info(self) -> Ok | Err:
        """`{version, plugin_id, saved_at, reason, data_keys, size_bytes}` of the saved state, None with none."""
        return await self._result(self._info)
