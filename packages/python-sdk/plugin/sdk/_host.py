"""The plugin's one connection to the host: a ZeroMQ DEALER owned by one I/O thread (docs/wire-protocol.md).

Any thread sends through `send` (a queue the I/O thread drains); host-service requests are `concurrent.futures`
futures, resolved by the I/O thread when the `response` comes, or with `TIMEOUT` 250 ms after their deadline. Every
other message goes to `on_message`, called in the I/O thread. What the plugin asks of the host before `welcome` is
held and sent, in order, when it comes (the host drops anything sent before its handshake is accepted).
"""

from __future__ import annotations

import collections
import concurrent.futures
import heapq
import os
import threading
import time
import uuid
from typing import Any, Callable

import msgpack
import zmq

MAX_FRAME_BYTES = 64 * 1024 * 1024
DEFAULT_REQUEST_SECONDS = 30.0
LATE_RESPONSE_GRACE_MS = 250.0


class PayloadTooLarge(Exception):
    pass


def _default(value: Any) -> Any:
    """What msgpack cannot encode by itself: sets and tuples as lists, paths and dates as text."""
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} cannot be sent to the host")


def pack(message: dict) -> bytes:
    data = msgpack.packb(message, use_bin_type=True, default=_default)
    if len(data) > MAX_FRAME_BYTES:
        raise PayloadTooLarge(f"the message is {len(data)} bytes; the frame limit is {MAX_FRAME_BYTES}")
    return data


class HostLink:
    def __init__(self, connection: dict, on_message: Callable[[dict], None]) -> None:
        self._context = zmq.Context()
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.ROUTING_ID, connection["routingId"].encode())
        curve = connection.get("curve")
        if curve:
            sock.setsockopt(zmq.CURVE_SERVERKEY, curve["serverKey"].encode())
            sock.setsockopt(zmq.CURVE_PUBLICKEY, curve["publicKey"].encode())
            sock.setsockopt(zmq.CURVE_SECRETKEY, curve["secretKey"].encode())
        sock.setsockopt(zmq.LINGER, 1000)
        sock.connect(connection["endpoint"])
        self._sock = sock
        self._on_message = on_message
        self._lock = threading.Lock()
        self._outbox: collections.deque[bytes] = collections.deque()
        self._held: list[bytes] = []
        self._welcomed = False
        self._pending: dict[str, concurrent.futures.Future] = {}
        self._expiries: list[tuple[float, str, float]] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="neko-host-link", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- sending ------------------------------------------------------------------------------------------------

    def send(self, message: dict, *, hold_until_welcome: bool = False) -> None:
        """Queues one message for the host (any thread). Raises PayloadTooLarge / TypeError for what cannot go."""
        data = pack(message)
        with self._lock:
            if hold_until_welcome and not self._welcomed:
                self._held.append(data)
                return
            self._outbox.append(data)
        self._wake()

    def notify(self, method: str, params: Any) -> None:
        self.send({"type": "notify", "method": method, "params": params}, hold_until_welcome=True)

    def request(self, method: str, params: Any, deadline_ms: float | None = None) -> concurrent.futures.Future:
        """Asks the host for a service; the future's result is the WireResult (never raises)."""
        request_id = uuid.uuid4().hex
        deadline = float(deadline_ms if deadline_ms is not None else (time.time() + DEFAULT_REQUEST_SECONDS) * 1000.0)
        future: concurrent.futures.Future = concurrent.futures.Future()
        message = {"type": "request", "id": request_id, "method": method, "params": params, "deadline": deadline}
        try:
            data = pack(message)
        except PayloadTooLarge as error:
            future.set_result(_err("SdkError", "PAYLOAD_TOO_LARGE", f"{method}: {error}"))
            return future
        except TypeError as error:
            future.set_result(_err("ValidationError", "VALIDATION_ERROR", f"{method}: {error}"))
            return future
        with self._lock:
            if self._closed:
                future.set_result(_err("TransportError", "TRANSPORT_ERROR", "the plugin is shutting down"))
                return future
            self._pending[request_id] = future
            budget = max(0.0, deadline - time.time() * 1000.0)
            heapq.heappush(self._expiries, (deadline + LATE_RESPONSE_GRACE_MS, request_id, budget))
            (self._outbox if self._welcomed else self._held).append(data)
        self._wake()
        return future

    def cancel_request(self, future: concurrent.futures.Future) -> None:
        """Tells the host the answer to this request is no longer wanted (`request.cancel`)."""
        with self._lock:
            ids = [rid for rid, f in self._pending.items() if f is future]
        for rid in ids:
            self.notify("request.cancel", {"id": rid})

    @property
    def is_welcomed(self) -> bool:
        return self._welcomed

    def welcomed(self) -> None:
        with self._lock:
            self._welcomed = True
            self._outbox.extend(self._held)
            self._held.clear()
        self._wake()

    def close(self) -> None:
        """Sends what is queued (for at most a second), then closes the socket."""
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
            self._pending.clear()
        for future in pending:
            if not future.done():
                future.set_result(_err("TransportError", "TRANSPORT_ERROR", "the plugin is shutting down"))
        self._wake()
        self._thread.join(timeout=2)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # already woken

    # -- the I/O thread ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        while True:
            timeout = self._expire()
            events = dict(poller.poll(timeout))
            if self._wake_r in events:
                try:
                    while os.read(self._wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            self._flush()
            if self._sock in events:
                self._receive()
            if self._closed:
                self._flush()
                self._sock.close(linger=1000)
                return

    def _flush(self) -> None:
        while True:
            with self._lock:
                if not self._outbox:
                    return
                data = self._outbox.popleft()
            self._sock.send(data)

    def _receive(self) -> None:
        while True:
            try:
                data = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                message = msgpack.unpackb(data, raw=False, strict_map_key=False)
            except Exception:  # noqa: BLE001 - a bad frame is ignored, as the protocol says
                continue
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                continue
            if message["type"] == "response":
                with self._lock:
                    future = self._pending.pop(str(message.get("id")), None)
                if future is not None and not future.done():
                    result = message.get("result")
                    future.set_result(result if isinstance(result, dict) else _err("SdkError", "SDK_ERROR", "bad response"))
                continue
            try:
                self._on_message(message)
            except Exception as error:  # noqa: BLE001 - never let one message end the I/O thread
                os.write(2, f"neko-plugin runner: a message failed: {error!r}\n".encode())

    def _expire(self) -> int:
        """Answers TIMEOUT to requests past their deadline; the poll timeout until the next one (ms)."""
        now = time.time() * 1000.0
        with self._lock:
            while self._expiries and self._expiries[0][0] <= now:
                _, request_id, budget = heapq.heappop(self._expiries)
                future = self._pending.pop(request_id, None)
                if future is not None and not future.done():
                    # This process's own deadline passed first (a cross-plugin call names its target: base.py).
                    timed_out = _err("TimeoutError", "TIMEOUT", "the host did not answer before the deadline")
                    timed_out["error"]["details"] = {"timeoutMs": budget, "firedBy": "caller"}
                    future.set_result(timed_out)
            nearest = self._expiries[0][0] if self._expiries else now + 1000.0
        return max(1, min(1000, int(nearest - now) + 1))


def _err(name: str, code: str, message: str) -> dict:
    return {"ok": False, "error": {"name": name, "code": code, "message": message}}
