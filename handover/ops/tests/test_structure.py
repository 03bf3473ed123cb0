"""What issue-free structure means here, checked on the source: no module of handover/ (tests
and migrations aside) over 800 lines, no private name taken from another app, none of the
private APIs of CPython or Django the write and verify paths once used, and no native code."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # handover/
MAX_LINES = 800
# Private APIs once used for speed: CPython's C encoder, the ORM's row converters, a parser's
# or a request's parsed fields.
PRIVATE_API = {"c_make_encoder", "get_converters", "from_db", "_post", "_files"}


def _modules() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)
    )


def _app(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def test_there_are_modules_to_check():
    assert len(_modules()) > 100


def test_no_module_is_over_800_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_private_name_crosses_apps():
    crossing = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                "handover."
            ):
                continue
            source_app = node.module.split(".")[1]  # type: ignore[union-attr]
            if source_app == _app(path):
                continue
            crossing += [
                f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    assert crossing == []


def _private_api_uses(source: str) -> list[str]:
    used = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
        ):
            names = [str(node.args[1].value)]
        used += [f"line {node.lineno}: {name}" for name in names if name in PRIVATE_API]  # type: ignore[attr-defined]
    return used


def test_the_private_api_check_finds_each_way_of_reaching_one():
    source = (
        "from json.encoder import c_make_encoder\n"
        "fields = parser._post\n"
        "fields = getattr(parser, '_post', None)\n"
        "row = compiler.get_converters(expressions)\n"
    )
    assert len(_private_api_uses(source)) == 4


def test_no_private_api_of_cpython_or_django_is_used():
    used = [
        f"{path.relative_to(ROOT)} {use}"
        for path in _modules()
        for use in _private_api_uses(path.read_text())
    ]
    assert used == []


def test_there_is_no_native_code():
    assert not (ROOT.parent / "native").exists()
    assert not [p for p in ROOT.rglob("*") if p.suffix in {".c", ".h", ".so", ".pyx"}]
