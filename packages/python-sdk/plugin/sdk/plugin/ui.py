"""`ui.action` and `ui.context`, the original's marks for its hosted UI surfaces. `@ui.action(…)` on an entry puts
`ui_action: { id, label, icon, tone, group, order, confirm, refresh_context }` in the entry's `metadata` (shown by
`/plugins`); `@ui.context(…)` is recorded on the method only. The host has no hosted-UI surface that reads them
(docs/python-plugins.md)."""

from __future__ import annotations

from typing import Any, Callable

from ..decorators import UI_ACTION_ATTR

UI_ACTION_META_ATTR = UI_ACTION_ATTR
UI_CONTEXT_META_ATTR = "__neko_ui_context__"


def _mark(fn: Callable, attr: str, meta: dict) -> None:
    current: Any = fn
    seen: set[int] = set()
    while callable(current) and id(current) not in seen:  # the wrapper chain, as the original
        seen.add(id(current))
        try:
            setattr(current, attr, dict(meta))
        except (AttributeError, TypeError):
            pass
        current = getattr(current, "__wrapped__", None)


def context(*, id: str = "main", title: str | None = None) -> Callable[[Callable], Callable]:  # noqa: A002
    def decorate(fn: Callable) -> Callable:
        _mark(fn, UI_CONTEXT_META_ATTR, {"id": str(id or "main"), "title": title})
        return fn

    return decorate


def action(*, id: str | None = None, label: str | None = None, icon: str | None = None,  # noqa: A002
           tone: str = "default", group: str | None = None, order: int = 0, confirm: bool | str = False,
           refresh_context: bool = True) -> Callable[[Callable], Callable]:
    def decorate(fn: Callable) -> Callable:
        _mark(fn, UI_ACTION_META_ATTR, {"id": id, "label": label, "icon": icon, "tone": tone, "group": group,
                                        "order": int(order), "confirm": confirm,
                                        "refresh_context": bool(refresh_context)})
        return fn

    return decorate


__all__ = ["UI_ACTION_META_ATTR", "UI_CONTEXT_META_ATTR", "action", "context"]
