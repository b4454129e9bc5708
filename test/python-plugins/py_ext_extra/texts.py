"""A module of the extension's own package: `from .texts import loud` in its __init__.py."""


def loud(text: str) -> str:
    return text.upper()
