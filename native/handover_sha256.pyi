from collections.abc import Iterable
from typing import Literal, overload

from _typeshed import ReadableBuffer

@overload
def each(
    messages: Iterable[bytes | str], prefix: ReadableBuffer = b"", *, hex: Literal[False] = False
) -> list[bytes]: ...
@overload
def each(
    messages: Iterable[bytes | str], prefix: ReadableBuffer = b"", *, hex: Literal[True]
) -> list[str]: ...
@overload
def pairs(
    messages: Iterable[bytes | str], prefix: ReadableBuffer = b"", *, hex: Literal[False] = False
) -> list[bytes]: ...
@overload
def pairs(
    messages: Iterable[bytes | str], prefix: ReadableBuffer = b"", *, hex: Literal[True]
) -> list[str]: ...
