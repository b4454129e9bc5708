"""`collect_entries()`'s values: an entry's handler with its description, under the original's attribute names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class EntryMeta:
    """An entry's description as the original's `EventMeta` names it."""

    id: str
    name: str
    description: str = ""
    input_schema: dict | None = None
    kind: str = "action"
    event_type: str = "plugin_entry"
    auto_start: bool = False
    timeout: float | None = None
    model_validate: bool = True
    llm_result_fields: list | None = None
    llm_result_schema: dict | None = None
    metadata: dict = field(default_factory=dict)


@dataclass
class EntryHandler:
    meta: EntryMeta
    handler: Callable

    @staticmethod
    def of(entry_id: str, meta: dict, handler: Callable) -> "EntryHandler":
        return EntryHandler(EntryMeta(
            id=entry_id, name=meta.get("name") or entry_id, description=meta.get("description") or "",
            input_schema=meta.get("inputSchema"), kind=meta.get("entryKind") or "action",
            auto_start=bool(meta.get("autoStart")), timeout=meta.get("timeout"),
            model_validate=meta.get("modelValidate", True) is not False,
            llm_result_fields=meta.get("llmResultFields"), llm_result_schema=meta.get("llmResultSchema"),
            metadata=dict(meta.get("metadata") or {})), handler)


EventHandler = EntryHandler
