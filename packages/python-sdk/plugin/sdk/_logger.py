"""`self.logger`: one JSON line per record on stdout, which the host reads as the plugin's log
(docs/wire-protocol.md, rule 12). Messages take the original's `{}` formatting: `logger.info("got {}", x)`."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from typing import Any

LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "warning": 40, "error": 50, "critical": 60, "fatal": 60}
_write_lock = threading.Lock()


def _threshold() -> int:
    return LEVELS.get(os.environ.get("NEKO_LOG_LEVEL", "info").lower(), 30)


def write_record(level: int, msg: str, **fields: Any) -> None:
    record = {"level": level, "time": int(time.time() * 1000), "msg": msg}
    for key, value in fields.items():
        if key not in record:
            record[key] = value
    line = json.dumps(record, default=str, ensure_ascii=False)
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class PluginLogger:
    def __init__(self, name: str, **bound: Any) -> None:
        self.name = name
        self._bound = bound
        self._level = _threshold()

    def bind(self, **fields: Any) -> "PluginLogger":
        return PluginLogger(self.name, **{**self._bound, **fields})

    def _log(self, level: int, message: Any, args: tuple, kwargs: dict, exc: bool = False) -> None:
        if level < self._level:
            return
        text = str(message)
        if args or kwargs:
            try:
                text = text.format(*args, **kwargs)
            except Exception:  # noqa: BLE001 - any bad format (an attribute lookup, a bad spec) still logs the line
                text = " ".join([text, *map(str, args)])
        fields = dict(self._bound)
        if exc:
            fields["err"] = {"stack": traceback.format_exc()}
        write_record(level, text, logger=self.name, **fields)

    def trace(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(10, message, args, kwargs)

    def debug(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(20, message, args, kwargs)

    def info(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(30, message, args, kwargs)

    def success(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(30, message, args, kwargs)

    def warning(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(40, message, args, kwargs)

    warn = warning

    def error(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(50, message, args, kwargs)

    def exception(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(50, message, args, kwargs, exc=True)

    def critical(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._log(60, message, args, kwargs)


class _JsonLinesHandler(logging.Handler):
    """The standard library's `logging`, as the same JSON lines (a plugin's own `logging.getLogger(...)`)."""

    def emit(self, record: logging.LogRecord) -> None:
        level = 60 if record.levelno >= 50 else 50 if record.levelno >= 40 else 40 if record.levelno >= 30 else 30 if record.levelno >= 20 else 20
        try:
            fields: dict = {"logger": record.name}
            if record.exc_info:
                fields["err"] = {"stack": "".join(traceback.format_exception(*record.exc_info))}
            write_record(level, record.getMessage(), **fields)
        except Exception:  # noqa: BLE001
            self.handleError(record)


def install_stdlib_logging() -> None:
    root = logging.getLogger()
    root.handlers[:] = [_JsonLinesHandler()]
    root.setLevel({20: logging.DEBUG, 10: logging.DEBUG}.get(_threshold(), logging.INFO))


def get_plugin_logger(name: str = "plugin") -> PluginLogger:
    return PluginLogger(name)
