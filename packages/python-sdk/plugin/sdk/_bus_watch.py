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
import math
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import _condition
from .errors import from_wire
from .result import Err, Ok

if TYPE_CHECKING:
    from ._runner import PluginRuntime

FILTER_NAMES = {"plugin_id": "pluginId", "priority_min": "priorityMin", "since_ts": "sinceTs", "max_count": "maxCount"}
WATCH_EVENTS = ("add", "del", "change")


def wire_filters(filters: dict) -> dict:
    """docs/bus.md's filters, given in snake_case (the original's) or camelCase; None values are left out."""
    return {FILTER_NAMES.get(k, k): v for k, v in filters.items() if v is not None}


MISSING: Any = _condition.UNDEFINED  # JavaScript's undefined: a path that leads nowhere (not None, which is null)


def read_path(record: Any, path: str) -> Any:
    """`readPath` of bus-record-list.ts: through dicts and lists (`"tags.0"`, `"tags.length"`); MISSING when a step
    finds nothing or is not an object."""
    value = record
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key, MISSING)
        elif isinstance(value, (list, tuple)):
            if key == "length":
                value = len(value)
            else:
                index = _condition._index(key, len(value))
                value = value[index] if index is not None else MISSING
        else:
            return MISSING
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _object_is(a: Any, b: Any) -> bool:
    """JavaScript's Object.is: NaN is NaN, 0 is not -0, undefined is not null, objects only themselves."""
    if a is MISSING or b is MISSING or a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        x, y = _condition._js_number(a), _condition._js_number(b)
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if x == 0 and y == 0:
            return math.copysign(1.0, x) == math.copysign(1.0, y)
        return x == y
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is b


def _is_object(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple, bytes, bytearray))


def _same(a: Any, b: Any) -> bool:
    """`sameValue` of bus-record-list.ts: Object.is, or two objects with the same JSON.stringify."""
    if _object_is(a, b):
        return True
    return _is_object(a) and _is_object(b) and _js_json(a) == _js_json(b)


def _js_json(value: Any) -> str | None:
    """JSON.stringify's text (None where it gives undefined): keys in JavaScript's order (array indexes first, in
    numeric order, then the rest as inserted), non-finite numbers as null, bytes as a Uint8Array's object."""
    if value is None:
        return "null"
    if value is MISSING or callable(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        number = _condition._js_number(value)
        return _condition.js_number_string(number) if math.isfinite(number) else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_js_json(item) or "null" for item in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        value = {str(i): byte for i, byte in enumerate(value)}
    if isinstance(value, dict):
        items = [(k if isinstance(k, str) else _js_string(k), v) for k, v in value.items()]
        indexes = sorted((item for item in items if _array_index(item[0])), key=lambda i: int(i[0]))
        rest = [item for item in items if not _array_index(item[0])]
        parts = []
        for key, item in (*indexes, *rest):
            text = _js_json(item)
            if text is not None:
                parts.append(json.dumps(key, ensure_ascii=False) + ":" + text)
        return "{" + ",".join(parts) + "}"
    return None


def _array_index(key: str) -> bool:
    return bool(_condition._ARRAY_INDEX.fullmatch(key)) and int(key) < 2**32 - 1


def _js_string(value: Any) -> str:
    """JavaScript's String(): "true"/"false", numbers as Number::toString, arrays joined by "," (null → "")."""
    if value is None:
        return "null"
    if value is MISSING:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return _condition.js_number_string(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, bytes, bytearray)):
        return ",".join("" if item is None or item is MISSING else _js_string(item) for item in value)
    return "[object Object]"


def compare_values(a: Any, b: Any) -> int:
    """`compareValues` of bus-record-list.ts: missing (undefined or null) last, two numbers by value (NaN equal to
    all), anything else by its String() in UTF-16 code units."""
    a_missing = a is MISSING or a is None
    b_missing = b is MISSING or b is None
    if a_missing or b_missing:
        return 0 if a_missing == b_missing else 1 if a_missing else -1
    if _is_number(a) and _is_number(b):
        difference = _condition._js_number(a) - _condition._js_number(b)
        return 0 if math.isnan(difference) or difference == 0 else -1 if difference < 0 else 1
    x, y = _condition._utf16(_js_string(a)), _condition._utf16(_js_string(b))
    return -1 if x < y else 1 if x > y else 0


def apply_steps(base: Iterable[dict], steps: tuple) -> list[dict]:
    out = list(base)
    for kind, arg in steps:
        if kind == "filter":
            out = [r for r in out if arg(r)]
        elif kind == "sort":
            out.sort(key=functools.cmp_to_key(arg))
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
        """Records whose fields equal the values; keys may be paths (`where({"data.entryId": "x"})`). Compared as the
        TypeScript SDK does: JavaScript's Object.is (a missing field is not None, 0 is not -0.0, NaN is NaN, True is
        not 1), and dicts and lists by their JSON."""
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
        """By a field path or a comparator `(a, b) -> int`; stable. A path compares as the TypeScript SDK does: two
        numbers by value, anything else by JavaScript's String() of it (`True` as "true"), missing or None last."""
        descending = bool(desc if reverse is None else reverse)
        if isinstance(by, str):
            def base(a: dict, b: dict) -> int:
                return compare_values(read_path(a, by), read_path(b, by))
        elif callable(by):
            base = by
        else:
            raise TypeError("sort(by): by must be a field path or a comparator")
        return self._with(("sort", (lambda a, b: base(b, a)) if descending else base))

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
        if isinstance(most, float) and most.is_integer():
            most = int(most)  # the host takes 5.0 as 5 (a JavaScript number); it refuses 5.5 before the watch opens
        if isinstance(most, int) and not isinstance(most, bool) and len(self._base) > most:
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
