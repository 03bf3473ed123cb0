"""A worker killed with SIGKILL in the middle of a webhook call loses nothing: the call was
committed with the change it reports, stays pending while the worker is dead, and the next
worker sends it again with the same Handover-Delivery id, so the receiver can drop the
duplicate. Real processes on a database file of their own, as `handover serve` runs."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from handover.notifications.tests.conftest import Endpoint, serving

HANDOVER = [sys.executable, "-m", "handover.cli"]
ACTOR = [sys.executable, "-m", "handover.notifications.tests.crash_actor"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """SQLite in a fresh data directory, whatever database the test run itself uses."""
    inherited = {
        k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")
    }
    return {
        **inherited,
        "HANDOVER_DATA_DIR": str(tmp_path),
        "HANDOVER_STORAGE": "local",
        "DJANGO_SETTINGS_MODULE": "handover.notifications.tests.crash_settings",
    }


def actor(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [*ACTOR, *args], env=env, check=True, capture_output=True, text=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def outbox(env: dict[str, str]) -> dict[str, tuple]:
    """channel -> (id, state, attempts, sent_at), read from the database file itself."""
    with sqlite3.connect(Path(env["HANDOVER_DATA_DIR"]) / "handover.sqlite3") as db:
        rows = db.execute(
            "SELECT channel, id, state, attempts, sent_at FROM notifications_outbox"
        ).fetchall()
    return {channel: tuple(rest) for channel, *rest in rows}


def test_a_worker_killed_mid_send_loses_no_notification(env, tmp_path):
    first_call = True

    def answer(received) -> int | None:
        nonlocal first_call
        if first_call:
            first_call = False
            return None  # hang: the worker is killed while it waits for this answer
        return 200

    with serving(Endpoint(answer=answer)) as endpoint:
        made = actor(env, "setup", endpoint.url)
        assert made["enqueued"]
        # Committed with the payment, before any worker ran.
        rows = outbox(env)
        assert rows["webhook"][1:] == ("pending", 0, None)
        assert rows["email"][1:] == ("pending", 0, None)
        delivery_id = str(rows["webhook"][0])

        log = (tmp_path / "worker.log").open("w")
        worker = subprocess.Popen(
            [*HANDOVER, "worker", "--no-scheduler"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            arrived = endpoint.arrived.wait(60)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)  # mid-send (or, if it never sent, to end it)
            worker.wait(timeout=30)
            log.close()
        assert arrived, "the worker never called the endpoint"
        endpoint.release.set()

        # The mail went before the webhook call; the call is still pending, claimed once.
        rows = outbox(env)
        assert rows["email"][1] == "sent"
        assert rows["webhook"][1:] == ("pending", 1, None)
        assert f"Order #{made['order_id']} is paid" in (tmp_path / "worker.log").read_text()

        # A new worker, once the claim has run out. The killed worker's task stays
        # 'running' for ever in the task table; it holds back no new send.
        assert actor(env, "restart") == {"moved": 1, "enqueued": True}

    first, second = endpoint.received
    assert first.headers["Handover-Delivery"] == second.headers["Handover-Delivery"] == delivery_id
    assert first.body == second.body
    assert second.signed_with(made["secret"])
    assert second.json["order_id"] == made["order_id"]
    assert second.json["payload"]["action"] == "pay"
    webhook = outbox(env)["webhook"]
    assert webhook[1:3] == ("sent", 2) and webhook[3] is not None
