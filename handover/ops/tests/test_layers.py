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
