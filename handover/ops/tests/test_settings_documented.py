"""Every environment variable the code reads is in the README's settings table."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# A HANDOVER_* name given as a literal to an environment reader: the typed helpers of
# lib/env.py (env_str, env_bool, ...), os.environ[...], .get, .setdefault and os.getenv.
READ = re.compile(
    r"""(?:\benv_\w+\(|environ(?:\.get|\.setdefault)?[\[(]|getenv\()\s*["'](HANDOVER_[A-Z0-9_]+)["']"""
)


def _read_by_the_code() -> dict[str, str]:
    """Each name read outside the tests, with the first file that reads it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "handover").rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "testing" in parts or path.name == "conftest.py":
            continue  # the test suite's own switches are not the product's settings
        for name in READ.findall(path.read_text()):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def _documented() -> set[str]:
    """The names in the first column of the README's settings table."""
    rows = re.findall(r"^\| (`HANDOVER_[^|]*)\|", (ROOT / "README.md").read_text(), re.M)
    return {name for row in rows for name in re.findall(r"`(HANDOVER_[A-Z0-9_]+)`", row)}


def test_every_setting_the_code_reads_is_in_the_readme():
    read = _read_by_the_code()
    missing = {name: path for name, path in read.items() if name not in _documented()}
    assert missing == {}, f"read but not in the README's settings table: {missing}"


def test_the_check_finds_the_readers_it_looks_for():
    # So that a change of the helpers' names cannot leave the first test reading nothing.
    read = _read_by_the_code()
    assert {"HANDOVER_DATA_DIR", "HANDOVER_WEBHOOK_ALLOW_PRIVATE", "HANDOVER_EMAIL_FROM"} <= set(
        read
    )
    assert len(read) >= 50
    samples = [
        'env_bool("HANDOVER_X_ONE", False)',
        'os.environ.get("HANDOVER_X_TWO")',
        "os.environ['HANDOVER_X_THREE']",
        'os.getenv("HANDOVER_X_FOUR", "")',
        'os.environ.setdefault("HANDOVER_X_FIVE", "1")',
    ]
    assert [READ.findall(s) for s in samples] == [
        ["HANDOVER_X_ONE"],
        ["HANDOVER_X_TWO"],
        ["HANDOVER_X_THREE"],
        ["HANDOVER_X_FOUR"],
        ["HANDOVER_X_FIVE"],
    ]
