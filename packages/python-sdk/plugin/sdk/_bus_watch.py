"""`await self.bus.<namespace>.get(**filters)` → a `BusRecordList` to refine (`filter`, `where`, `where_in`, `sort`,
`limit`) and to `watch()`; a `BusWatcher` follows the same query as records come and go (docs/bus.md#watches). The
same semantics as the TypeScript SDK's bus-record-list.ts and bus-watcher.ts: the host keeps the watch with the
query's filters (`bus.watch`) and pushes deltas; this side replays the list's steps and tells the subscribers what
entered and left the result."""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .errors import from_wire
from .result import Err, Ok

if TYPE_CHECKING:
    from ._runner import PluginRuntime

FILTER_NAMES = {"plugin_id": "pluginId", "priority_min": "priorityMin", "since_ts": "sinceTs", "max_count": "maxCount"}
WATCH_EVENTS = ("add", "del", "change")


def wire_filters(filters: dict) -> dict:
    """docs/bus.md's filters, given in snake_case (the original's) or camelCase; None values are left out."""
    return {FILTER_NAMES.get(k, k): v for k, v in filters.items() if v is not None}


def read_path(record: Any, path: str) -> Any:
    value = record
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal, and objects by value (as JSON), as the TypeScript SDK's `where` compares."""
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        try:
            return json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False)
        except (TypeError, ValueError):
            return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _sort_key(value: Any) -> tuple:
    """Numbers and strings, missing values last (compareValues of bus-record-list.ts)."""
    if value is None:
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def apply_steps(base: Iterable[dict], steps: tuple) -> list[dict]:
    out = list(base)
    for kind, arg in steps:
        if kind == "filter":
            out = [r for r in out if arg(r)]
        elif kind == "sort":
            out.sort(key=arg[0], reverse=arg[1]) if arg[0] is not None else out.sort(key=functools.cmp_to_key(arg[2]))
        else:
            out = out[:arg]
    return out


class BusRecordList:
    """An immutable list of bus records; every step returns a new list."""

    def __init__(self, origin: dict, steps: tuple = ()) -> None:
        self._origin = origin
        self._steps = steps
        self.records: tuple[dict, ...] = tuple(apply_steps(origin["base"], steps))

    @property
    def namespace(self) -> str:
        return self._origin["namespace"]

    @property
    def revision(self) -> int:
        return self._origin["revision"]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, index: int) -> dict:
        return self.records[index]

    def __repr__(self) -> str:
        return f"BusRecordList({self.namespace}, {len(self.records)} records)"

    def to_list(self) -> list[dict]:
        return list(self.records)

    dump_records = to_list

    def first(self) -> dict | None:
        return self.records[0] if self.records else None

    def filter(self, keep: Callable[[dict], Any]) -> BusRecordList:
        if not callable(keep):
            raise TypeError("filter(fn): fn must be callable")
        return self._with(("filter", lambda r: bool(keep(r))))

    def where(self, fields: dict | None = None, **more: Any) -> BusRecordList:
        """Records whose fields equal the values; keys may be paths (`where({"data.entryId": "x"})`)."""
        if fields is not None and not isinstance(fields, dict):
            raise TypeError("where(fields): fields must be a dict")
        pairs = [*(fields or {}).items(), *more.items()]
        return self._with(("filter", lambda r: all(_same(read_path(r, p), v) for p, v in pairs)))

    def where_in(self, field_path: str, values: Iterable[Any]) -> BusRecordList:
        if not isinstance(field_path, str) or not field_path:
            raise TypeError("where_in(field, values): field must be a path")
        if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
            raise TypeError("where_in(field, values): values must be a list")
        wanted = list(values)
        return self._with(("filter", lambda r: any(_same(read_path(r, field_path), v) for v in wanted)))

    def sort(self, by: str | Callable[[dict, dict], int], desc: bool = False, *, reverse: bool | None = None) -> BusRecordList:
        """By a field path (numbers and strings; missing values last) or a comparator `(a, b) -> int`; stable."""
        descending = bool(desc if reverse is None else reverse)
        if isinstance(by, str):
            return self._with(("sort", (lambda r: _sort_key(read_path(r, by)), descending, None)))
        if callable(by):
            compare = (lambda a, b: by(b, a)) if descending else by
            return self._with(("sort", (None, False, compare)))
        raise TypeError("sort(by): by must be a field path or a comparator")

    def limit(self, count: int) -> BusRecordList:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("limit(n): n must be a whole number >= 0")
        return self._with(("limit", count))

    def watch(self) -> BusWatcher:
        """A watcher of this query: `watch().subscribe(fn, on="add")`, or `@watcher.subscribe(on="add")`."""
        if self._origin.get("runtime") is None:
            raise TypeError("this list was not made by bus.<namespace>.get() and cannot be watched")
        return BusWatcher(self._origin, self._steps)

    def _with(self, step: tuple) -> BusRecordList:
        return BusRecordList(self._origin, (*self._steps, step))


@dataclass
class BusWatchChange:
    """What a subscriber gets: records that entered and left the result, the whole result, the revision, and
    `kind` ("add", "del" or "change" when both)."""

    added: list[dict]
    removed: list[dict]
    current: list[dict]
    revision: int
    kind: str = field(default="change")


class BusWatcher:
    """Follows one query. The host watch opens with the first subscriber (or `start()`) and closes with the last
    unsubscribe (or `close()` / `stop()`). Changes reach the subscribers in the order they happened, one change at a
    time and one subscriber at a time (an `async def` one awaited on the loop, a plain one in the thread pool): a slow
    subscriber delays this watcher's later changes, never the bus (docs/bus.md#watches)."""

    def __init__(self, origin: dict, steps: tuple) -> None:
        self._origin = origin
        self._steps = steps
        self._runtime: PluginRuntime = origin["runtime"]
        self._subscribers: list[tuple[set[str], Callable]] = []
        self._base: dict[int, dict] = {}
        self._result: list[dict] = apply_steps(origin["base"], steps)
        self._revision = origin["revision"]
        self._watch_id: str | None = None
        self._early: list[dict] | None = None
        self._opened: Any = None
        self._pending: collections.deque[BusWatchChange] = collections.deque()
        self._draining = False
        self._lock = threading.Lock()

    @property
    def current(self) -> list[dict]:
        return list(self._result)

    def subscribe(self, fn: Callable | None = None, *, on: str | Iterable[str] = "add") -> Any:
        """Calls `fn(change)` on the chosen changes (`on`: "add", "del", "change" or a list of them) and returns the
        unsubscribe; without `fn`, a decorator (`@watcher.subscribe(on="add")`, the original's spelling) that
        returns the function unchanged, its unsubscribe kept as `fn.unsubscribe`. A plain `fn` runs in the thread
        pool, an `async def` one on the loop; one that raises is logged."""
        wanted = {on} if isinstance(on, str) else set(on)
        for event in wanted:
            if event not in WATCH_EVENTS:
                raise TypeError(f'subscribe: on must be "add", "del" or "change" (got {event!r})')
        if fn is None:
            def decorate(callback: Callable) -> Callable:
                unsubscribe = self.subscribe(callback, on=tuple(wanted))
                try:
                    callback.unsubscribe = unsubscribe  # type: ignore[attr-defined]
                except (AttributeError, TypeError):  # a bound method or a builtin takes no attribute
                    pass
                return callback
            return decorate
        if not callable(fn):
            raise TypeError("subscribe(fn): fn must be callable")
        entry = (wanted, fn)
        with self._lock:
            self._subscribers.append(entry)
            first = self._watch_id is None
        if first:
            self.start()

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)
                empty = not self._subscribers
            if empty:
                self.close()

        return unsubscribe

    def start(self) -> BusWatcher:
        """Opens the host watch (the first `subscribe` does it too). The watch is registered at once, `bus.watch`
        sent from the loop: a `close()` before then sends nothing."""
        with self._lock:
            if self._watch_id is not None:
                return self
            self._watch_id = watch_id = str(uuid.uuid4())
            self._early = []
            self._runtime.register_bus_watch(watch_id, self._on_delta)
        self._opened = self._runtime.run_on_loop(self._open(watch_id))
        return self

    async def ready(self) -> Ok | Err:
        """Ok once the host holds the watch: from then on no change is missed (Err when it could not be opened)."""
        if self._opened is None:
            return Ok(None)
        return await asyncio.wrap_future(self._opened) if not isinstance(self._opened, asyncio.Future) else await self._opened

    def close(self) -> None:
        """Ends the host watch; subscribers get nothing more (changes not yet delivered are dropped)."""
        with self._lock:
            self._subscribers.clear()
            watch_id, self._watch_id, self._early = self._watch_id, None, None
        if watch_id is not None:
            self._runtime.close_bus_watch(watch_id)

    stop = close

    async def _open(self, watch_id: str) -> Ok | Err:
        if self._watch_id != watch_id:  # closed before the loop came to it: nothing to send
            return Ok(None)
        params = {"watchId": watch_id, "namespace": self._origin["namespace"], "filters": self._origin["filters"]}
        answer = await self._runtime.open_bus_watch(watch_id, params)
        if answer is None or self._watch_id != watch_id:
            return Ok(None)
        if not answer.get("ok"):
            with self._lock:
                if self._watch_id == watch_id:
                    self._watch_id = self._early = None
            error = from_wire(answer.get("error") or {})
            self._runtime.logger.error("a bus watch could not be opened: {}", error)
            return Err(error)
        value = answer.get("value") or {}
        self._base = {r["id"]: r for r in value.get("records") or [] if isinstance(r, dict) and "id" in r}
        self._revision = value.get("revision", self._revision)
        early, self._early = self._early or [], None
        for delta in early:
            self._apply(delta)
        self._publish()
        return Ok(None)

    def _on_delta(self, delta: dict) -> None:
        """A delta from the host (on the loop, in the order of the batches): applied now, its change queued."""
        if self._watch_id != delta.get("watchId"):
            return
        if self._early is not None:
            self._early.append(delta)
            return
        self._apply(delta)
        self._publish()

    def _apply(self, delta: dict) -> None:
        for record_id in delta.get("removed") or []:
            self._base.pop(record_id, None)
        for record in delta.get("added") or []:
            if isinstance(record, dict) and "id" in record:
                self._base[record["id"]] = record
        most = self._origin["filters"].get("maxCount")
        if isinstance(most, int) and len(self._base) > most:
            for record_id in sorted(self._base)[: len(self._base) - most]:
                del self._base[record_id]
        revision = delta.get("revision")
        if isinstance(revision, (int, float)):
            self._revision = max(self._revision, revision)

    def _publish(self) -> None:
        """Replays the steps on the records now; what entered and left is one change, with the revision now."""
        following = apply_steps([self._base[k] for k in sorted(self._base)], self._steps)
        before = {r["id"] for r in self._result}
        after = {r["id"] for r in following}
        added = [r for r in following if r["id"] not in before]
        removed = [r for r in self._result if r["id"] not in after]
        self._result = following
        if not added and not removed:
            return
        kind = "change" if added and removed else "add" if added else "del"
        self._pending.append(BusWatchChange(added, removed, list(following), self._revision, kind))
        if not self._draining:
            self._draining = True
            self._runtime.run_on_loop(self._drain())

    async def _drain(self) -> None:
        """The queued changes, in order, to the subscribers subscribed when each is delivered."""
        try:
            while self._pending:
                change = self._pending.popleft()
                with self._lock:
                    subscribers = list(self._subscribers)
                for entry in subscribers:
                    wanted, fn = entry
                    if not ("change" in wanted or ("add" in wanted and change.added) or ("del" in wanted and change.removed)):
                        continue
                    if entry not in self._subscribers:  # unsubscribed (or closed) by an earlier one
                        continue
                    copy = BusWatchChange(list(change.added), list(change.removed), list(change.current),
                                          change.revision, change.kind)
                    try:
                        if inspect.iscoroutinefunction(fn):
                            await fn(copy)
                        else:
                            await self._runtime.run_in_pool(fn, copy)
                    except Exception:  # noqa: BLE001 - logged; the other subscribers still run
                        self._runtime.logger.exception("a bus watch subscriber failed")
        finally:
            self._draining = False
