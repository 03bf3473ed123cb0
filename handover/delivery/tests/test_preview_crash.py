"""A worker killed with SIGKILL while it makes a preview: the preview stays pending with
the attempt counted, the order does not auto-complete meanwhile, and once the attempt's
lease runs out the sweep queues it again and a new worker makes it. Real processes on a
database file of their own, as `handover serve` runs them.

The killed worker is caught mid-preview without racing it: the stored original is swapped
for a named pipe, so the worker's read of it blocks until the test kills it."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

HANDOVER = [sys.executable, "-m", "handover.cli"]
ACTOR = [sys.executable, "-m", "handover.delivery.tests.preview_crash_actor"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """SQLite and local files in a fresh data directory, whatever the test run itself uses."""
    inherited = {
        k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")
    }
    return {
        **inherited,
        "HANDOVER_DATA_DIR": str(tmp_path),
        "HANDOVER_STORAGE": "local",
        "DJANGO_SETTINGS_MODULE": "handover.notifications.tests.crash_settings",
    }


def actor(env: dict[str, str], command: str) -> dict:
    done = subprocess.run(
        [*ACTOR, command], env=env, check=True, capture_output=True, text=True, timeout=180
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def preview_row(env: dict[str, str]) -> tuple[str, int]:
    with sqlite3.connect(Path(env["HANDOVER_DATA_DIR"]) / "handover.sqlite3") as db:
        return db.execute(
            "SELECT preview_state, preview_attempts FROM delivery_deliveryfile"
        ).fetchone()


def wait_for_attempt(env: dict[str, str], worker: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.poll() is None:
        if preview_row(env) == ("pending", 1):
            return True
        time.sleep(0.05)
    return False


def test_a_worker_killed_mid_preview_leaves_it_to_be_made_again(env, tmp_path):
    made = actor(env, "setup")
    original = Path(made["path"])
    kept = original.with_name(original.name + ".kept")
    original.rename(kept)
    os.mkfifo(original)  # the worker's read blocks here, mid-preview

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [*HANDOVER, "worker", "--no-scheduler"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        claimed = wait_for_attempt(env, worker, 60)
        time.sleep(0.5)  # into the read
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        log.close()
    assert claimed, (tmp_path / "worker.log").read_text()
    assert preview_row(env) == ("pending", 1)

    original.unlink()
    kept.rename(original)
    result = actor(env, "later")

    assert result["held"] == {"fired": 0, "cleared": 0}  # no auto-complete while pending
    assert result["resumed"] == {"queued": 1, "failed": 0}
    assert result["preview"] == ["ready", 2, ""]
    # Shown now: the buyer has the whole auto-complete window from here.
    assert (result["state"], result["preview_hold"]) == ("delivered", "")
    assert result["window_left"] == 1.0
    assert result["after"] == {"fired": 0, "cleared": 0}
