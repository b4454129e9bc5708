"""`PluginI18n` / `tr` and `self.i18n`: a plugin's own translations, read as the original reads them — one JSON file
per locale (`<locale>.json`, a flat map of keys to strings) in the folder `[plugin.i18n] locales_dir` names (default
`i18n/`, relative to the plugin's folder), with `default_locale` (default `en`). `t(key, locale=…, default=…,
**params)` tries the locale, its language, the default locale, `en`, `zh-CN`, then `default`, then the key, with
`{name}` / `{{name}}` filled from `params`. `tr(…)` is a reference resolved later by `resolve(…)`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

I18N_REF_KEY = "$i18n"
DEFAULT_LOCALE = "en"
DEFAULT_LOCALES_DIR = "i18n"
MAX_LOCALE_FILE_BYTES = 512 * 1024
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}|\{\s*([A-Za-z_][\w.-]*)\s*\}")


def tr(key: str, *, default: str = "", **params: Any) -> dict:
    """A translation to be made later (JSON: `{"$i18n": key, "default"?, "params"?}`)."""
    normalized = str(key or "").strip()
    if not normalized:
        raise ValueError("i18n key must be non-empty")
    ref: dict = {I18N_REF_KEY: normalized}
    if default:
        ref["default"] = str(default)
    if params:
        ref["params"] = dict(params)
    return ref


def is_i18n_ref(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get(I18N_REF_KEY), str)


def locale_candidates(locale: str | None, default_locale: str | None = None) -> list[str]:
    found: list[str] = []

    def add(value: str | None) -> None:
        text = str(value).strip() if value else ""
        if text and text not in found:
            found.append(text)

    add(locale)
    if locale and "-" in locale:
        add(locale.split("-", 1)[0])
    if locale and str(locale).strip().lower() == "zh":
        add("zh-CN")
    add(default_locale)
    if default_locale and "-" in default_locale:
        add(default_locale.split("-", 1)[0])
    add(DEFAULT_LOCALE)
    add("zh-CN")
    return found


def interpolate_text(text: str, params: Mapping[str, object] | None = None) -> str:
    if not params:
        return text

    def fill(match: re.Match[str]) -> str:
        value = params.get(match.group(1) or match.group(2) or "")
        return str(value) if value is not None else match.group(0)

    return _PLACEHOLDER.sub(fill, text)


class PluginI18n:
    def __init__(self, messages: Mapping[str, Mapping[str, object]] | None = None, *,
                 default_locale: str = DEFAULT_LOCALE) -> None:
        self.messages = {str(loc): dict(bundle) for loc, bundle in (messages or {}).items() if isinstance(bundle, Mapping)}
        self.default_locale = default_locale or DEFAULT_LOCALE

    @property
    def locales(self) -> list[str]:
        return sorted(self.messages)

    def t(self, key: str, *, locale: str | None = None, default: str = "", **params: object) -> str:
        normalized = str(key or "").strip()
        if not normalized:
            return default
        for candidate in locale_candidates(locale, self.default_locale):
            value = (self.messages.get(candidate) or {}).get(normalized)
            if isinstance(value, str):
                return interpolate_text(value, params)
        return interpolate_text(default or normalized, params)

    def resolve(self, value: object, *, locale: str | None = None) -> object:
        return resolve_i18n_refs(value, self, locale=locale)


def _read_bundle(path: Path) -> dict:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_LOCALE_FILE_BYTES:
            return {}
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError, RecursionError):  # RecursionError: nested past Python's stack
        return {}
    return dict(payload) if isinstance(payload, Mapping) else {}


def load_plugin_i18n_from_dir(locales_dir: Path, *, default_locale: str = DEFAULT_LOCALE) -> PluginI18n:
    messages: dict = {}
    if locales_dir.is_dir():
        for path in sorted(locales_dir.glob("*.json")):
            bundle = _read_bundle(path)
            if path.stem.strip() and bundle:
                messages[path.stem.strip()] = bundle
    return PluginI18n(messages, default_locale=default_locale)


def load_plugin_i18n(plugin_dir: Path, config: Any, warn: Any = None) -> PluginI18n:
    """The plugin's translations per its `[plugin.i18n]` table (`config`); a `locales_dir` that leaves the plugin's
    folder is not read (`warn` says so)."""
    table = config if isinstance(config, Mapping) else {}
    default_locale = table.get("default_locale")
    default_locale = default_locale.strip() if isinstance(default_locale, str) and default_locale.strip() else DEFAULT_LOCALE
    name = table.get("locales_dir")
    name = name.strip() if isinstance(name, str) and name.strip() else DEFAULT_LOCALES_DIR
    root = plugin_dir.resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        if warn is not None:
            warn(f"[plugin.i18n] locales_dir '{name}' leaves the plugin's folder; no translations are read")
        return PluginI18n(default_locale=default_locale)
    return load_plugin_i18n_from_dir(target, default_locale=default_locale)


def resolve_i18n_refs(value: object, i18n: PluginI18n, *, locale: str | None = None) -> object:
    if is_i18n_ref(value):
        ref: Any = value
        params = ref.get("params")
        return i18n.t(str(ref.get(I18N_REF_KEY) or ""), locale=locale, default=str(ref.get("default") or ""),
                      **(dict(params) if isinstance(params, Mapping) else {}))
    if isinstance(value, Mapping):
        return {str(k): resolve_i18n_refs(v, i18n, locale=locale) for k, v in value.items() if isinstance(k, str)}
    if isinstance(value, list):
        return [resolve_i18n_refs(item, i18n, locale=locale) for item in value]
    return value
