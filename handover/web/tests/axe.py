"""axe-core for the accessibility tests: fetched once from the npm registry, checked against
the integrity the registry published for it, and kept under var/cache/.

The version and its sha512 are pinned here, so a changed tarball fails the check instead of
changing what the tests run.
"""

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings

VERSION = "4.10.3"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
# The tarball's `dist.integrity` in https://registry.npmjs.org/axe-core/4.10.3
INTEGRITY = (
    "sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIc"
    "rgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg=="
)
# The impacts a page may not have; "minor" and "moderate" are reported by axe but allowed.
BLOCKING = ("serious", "critical")
# The same origin as the page, so the page's CSP (script-src 'self') lets the script in;
# Playwright answers it (tests/test_a11y.py routes it), the server never sees the request.
SCRIPT_PATH = "/__axe-core.js"


def _cached() -> Path:
    return Path(settings.BASE_DIR) / "var" / "cache" / f"axe-core-{VERSION}.min.js"


def _integrity_of(tarball: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()


def _fetch() -> bytes:
    with urllib.request.urlopen(TARBALL, timeout=60) as response:
        tarball: bytes = response.read()
    found = _integrity_of(tarball)
    if found != INTEGRITY:
        raise RuntimeError(f"{TARBALL}: integrity {found}, expected {INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise RuntimeError(f"{TARBALL} has no package/axe.min.js")
        return member.read()


def axe_source() -> str:
    """axe.min.js, from the cache or else from the registry (once)."""
    path = _cached()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(_fetch())
        partial.replace(path)  # never leave half a file where the next run looks
    return path.read_text()


def blocking_violations(results: dict[str, Any]) -> list[str]:
    """One line per serious or critical violation: the rule, its help, the elements."""
    return [
        f"{v['impact']} {v['id']}: {v['help']} ({v['helpUrl']}) at "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]
