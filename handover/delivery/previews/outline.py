"""The outline of source code: its classes and functions with their signatures, and whether it
parses. Python is parsed with ``ast``; other languages are read from their lexer's tokens (the
names it marks as classes and functions, with the line that declares them), and whether they
parse is not checked."""

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.token import Name  # type: ignore[import-untyped]

MAX_ENTRIES = 200
MAX_SIGNATURE = 160  # characters
_DECLARING = {
    **dict.fromkeys(("function", "func", "fn", "def", "sub", "proc"), "function"),
    **dict.fromkeys(
        ("class", "struct", "interface", "trait", "enum", "type", "module", "impl"), "class"
    ),
}


@dataclass
class Outline:
    entries: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    parses: bool | None = None  # None: not checked for this language, or too long to read
    parse_error: str | None = None


def code_outline(lexer: Lexer, source: str | None) -> Outline:
    """The outline of ``source`` (None: the file is too long to outline)."""
    if source is None:
        return Outline(parse_error="The file is too long to outline.")
    if lexer.name == "Python":
        return _python(source)
    outline = _from_tokens(lexer, source)
    if lexer.name == "JSON":
        outline.parses, outline.parse_error = _json_parses(source)
    return outline


def _python(source: str) -> Outline:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        return Outline(parses=False, parse_error=f"It does not parse as Python{where}.")
    outline = Outline(parses=True)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            _add(outline, "class", node.name, _class_signature(node), node.lineno)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _add(outline, "function", node.name, _function_signature(node), node.lineno)
    outline.entries.sort(key=lambda entry: entry["line"])
    return outline


def _class_signature(node: ast.ClassDef) -> str:
    bases = ", ".join(ast.unparse(base) for base in node.bases)
    return f"class {node.name}({bases})" if bases else f"class {node.name}"


def _function_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _from_tokens(lexer: Lexer, source: str) -> Outline:
    outline = Outline()
    lines = source.splitlines()
    line, previous = 1, ""
    for token, value in lexer.get_tokens(source):
        kind = _declared(token, previous)
        if kind is not None:
            declared = lines[line - 1].strip() if line <= len(lines) else value
            _add(outline, kind, value, declared, line)
            if outline.truncated:
                break
        line += value.count("\n")
        if value.strip():
            previous = value.strip()
    return outline


def _declared(token: Any, previous: str) -> str | None:
    """ "class" or "function" when the token names one, by its type or the keyword before it
    (lexers such as JavaScript's and Go's mark declared names only as names)."""
    if token in Name.Class:
        return "class"
    if token in Name.Function:
        return "function"
    if token in Name and previous in _DECLARING:
        return _DECLARING[previous]
    return None


def _json_parses(source: str) -> tuple[bool, str | None]:
    try:
        json.loads(source)
    except (ValueError, RecursionError):
        return False, "It does not parse as JSON."
    return True, None


def _add(outline: Outline, kind: str, name: str, signature: str, line: int) -> None:
    if len(outline.entries) >= MAX_ENTRIES:
        outline.truncated = True
        return
    outline.entries.append(
        {"kind": kind, "name": name[:100], "signature": signature[:MAX_SIGNATURE], "line": line}
    )
