"""The marks the decorators leave on a class's methods, collected one way for the runtime, `--check` and extensions."""

from __future__ import annotations


def declared_marks(cls: type) -> list[tuple[str, dict]]:
    """`(attribute, mark)` for every mark on the class's methods, nearest class first; an overridden method counts once."""
    marked: list[tuple[str, dict]] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for attr, raw in vars(klass).items():
            if attr in seen:
                continue
            seen.add(attr)
            marks = getattr(raw, "__neko_meta__", None) or getattr(getattr(raw, "__func__", None), "__neko_meta__", None)
            for meta in marks or []:
                marked.append((attr, meta))
    return marked
