"""Every service that records an event writes its notifications: event_append no longer does,
so a call of it without notifications_for_event would silently mail and call nobody."""

import ast
from pathlib import Path

HANDOVER = Path(__file__).resolve().parents[2]


def _calls(tree: ast.AST, name: str) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == name
    )


def test_each_event_append_is_followed_by_its_notifications():
    writers = {}
    for path in HANDOVER.rglob("*.py"):
        if {"tests", "migrations"} & set(path.parts) or path.parts[-2:] == (
            "evidence",
            "services.py",
        ):
            continue
        tree = ast.parse(path.read_text())
        appended = _calls(tree, "event_append")
        if appended:
            writers[str(path.relative_to(HANDOVER))] = (
                appended,
                _calls(tree, "notifications_for_event"),
            )
    assert "orders/services.py" in writers and "delivery/services.py" in writers
    assert {p: n for p, n in writers.items() if n[0] != n[1]} == {}
