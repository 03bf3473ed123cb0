"""A Playwright `expect(locator)` on its own checks nothing: only its assertion
method waits and fails. One such line let a test race a page load."""

import ast
from pathlib import Path

import handover

ROOT = Path(handover.__file__).parent


def bare_expects(source: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "expect"
    ]


def test_every_expect_in_the_tests_asserts_something():
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(ROOT.rglob("test*.py"))
        if (lines := bare_expects(path.read_text()))
    }
    assert found == {}


def test_the_check_sees_a_bare_expect():
    assert bare_expects("expect(page.get_by_text('x'))\nexpect(a).to_be_visible()\n") == [1]
