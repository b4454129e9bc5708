"""`Ok` / `Err`: the original's Result types."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, Union

T = TypeVar("T")
E = TypeVar("E")


class Ok(Generic[T]):
    __slots__ = ("value",)
    __match_args__ = ("value",)

    def __init__(self, value: T = None) -> None:
        self.value = value

    ok = True

    def is_ok(self) -> bool:
        return True

    def is_err(self) -> bool:
        return False

    def unwrap(self) -> T:
        return self.value

    def unwrap_or(self, default: Any) -> T:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ok) and other.value == self.value

    def __repr__(self) -> str:
        return f"Ok({self.value!r})"


class Err(Generic[E]):
    __slots__ = ("error",)
    __match_args__ = ("error",)

    def __init__(self, error: E) -> None:
        self.error = error

    ok = False

    def is_ok(self) -> bool:
        return False

    def is_err(self) -> bool:
        return True

    def unwrap(self) -> Any:
        error = self.error
        if isinstance(error, BaseException):
            raise error
        from .errors import SdkError

        raise SdkError(str(error))

    def unwrap_or(self, default: Any) -> Any:
        return default

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and other.error == self.error

    def __repr__(self) -> str:
        return f"Err({self.error!r})"


Result = Union[Ok, Err]


def unwrap(result: Any) -> Any:
    """The value of an `Ok`; raises the error of an `Err`."""
    if isinstance(result, (Ok, Err)):
        return result.unwrap()
    return result


def unwrap_or(result: Any, default: Any) -> Any:
    """The value of an `Ok`, else `default`."""
    return result.value if isinstance(result, Ok) else default


def is_ok(result: Any) -> bool:
    return isinstance(result, Ok)


def is_err(result: Any) -> bool:
    return isinstance(result, Err)
