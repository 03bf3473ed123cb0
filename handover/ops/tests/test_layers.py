"""The import contracts in pyproject.toml bite: a copy of the tree with one import added (a
loop, a lazy import included) fails `lint-imports`, and the untouched copy passes."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# (contract id, module to change, the import it gains)
BREAKS = [
    # A lazy import inside a function is a dependency too: orders would know disputes.
    ("layers", "orders/rules.py", "def _loop():\n    from handover.disputes import rules\n"),
    ("layers", "ledger/rules.py", "from handover.orders import rules\n"),
    ("domain-not-interface", "ledger/services.py", "from handover.web import display\n"),
    ("domain-not-interface", "orders/models.py", "from handover.orders import admin\n"),
    ("lib-imports-no-app", "lib/money.py", "from handover.accounts import models\n"),
    ("evidence-core", "evidence/chain.py", "from handover.orders import rules\n"),
    ("modules-acyclic", "orders/rules.py", "from handover.orders import selectors\n"),
    ("web-not-api", "web/display.py", "from handover.orders import api\n"),
]


def _tree(tmp_path: Path) -> Path:
    """The Python files of handover/ and the contracts, copied under ``tmp_path``."""
    shutil.copytree(
        ROOT / "handover",
        tmp_path / "handover",
        ignore=lambda folder, names: [
            n for n in names if not n.endswith(".py") and not Path(folder, n).is_dir()
        ],
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _lint(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo"]
    for contract in contracts:
        args += ["--contract", contract]
    return subprocess.run(
        args,
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_untouched_tree_keeps_every_contract(tmp_path):
    result = _lint(_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("contract", "module", "added"), BREAKS, ids=[f"{c}:{m}" for c, m, _ in BREAKS]
)
def test_an_import_against_the_layers_fails_the_check(tmp_path, contract, module, added):
    tree = _tree(tmp_path)
    with (tree / "handover" / module).open("a") as source:
        source.write("\n\n" + added)
    result = _lint(tree, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert "1 broken" in result.stdout


# The interface inside each app; every other module there is the domain's (or the records' or
# the evidence core's) and must be named by the domain-not-interface contract.
INTERFACE_NAMES = {"api", "admin", "forms", "management", "urls", "support_urls", "views"}
INTERFACE_APPS = {"web", "api", "ops", "testing"}


def _matches(module: str, pattern: str) -> bool:
    """import-linter's reading of a pattern: ``*`` is one segment; a module matches its
    package's pattern too (descendants count)."""
    parts, wanted = module.split("."), pattern.split(".")
    head = parts[: len(wanted)]
    return len(head) == len(wanted) and all(
        w in ("*", p) for w, p in zip(wanted, head, strict=True)
    )


def test_every_domain_module_is_named_by_the_no_interface_contract():
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in contracts["contracts"] if c["id"] == "domain-not-interface"]
    unnamed = []
    for path in (ROOT / "handover").glob("*/**/*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        app, inside = parts[1], parts[2:]
        if app in INTERFACE_APPS or {"tests", "migrations"} & set(parts):
            continue
        if not inside or inside[0] in INTERFACE_NAMES or inside == ("__init__",):
            continue
        module = ".".join(p for p in parts if p != "__init__")
        if not any(_matches(module, pattern) for pattern in contract["source_modules"]):
            unnamed.append(module)
    assert not unnamed, f"name these in the domain-not-interface contract: {unnamed}"
