"""SQLite's writers queue: every transaction takes the write lock at BEGIN (IMMEDIATE), after
the lock file of the backend's writer queue (handover/lib/sqlite), and a writer that finds
either taken waits instead of failing."""

import fcntl
import os
import sqlite3
import threading
import time

import pytest
from django.db import connection, connections, transaction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("the write lock at BEGIN is how SQLite is set up")


def _in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_second_writer_waits_for_the_first_to_commit_and_then_goes():
    steps: list[str] = []
    first_in, release = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            steps.append("first begins")
            first_in.set()
            release.wait(10)
            steps.append("first commits")

    def second():
        first_in.wait(10)
        with transaction.atomic():
            steps.append("second begins")

    threads = [_in_thread(first), _in_thread(second)]
    time.sleep(0.3)  # the second is now waiting on the lock
    release.set()
    for thread in threads:
        thread.join(15)
    assert steps == ["first begins", "first commits", "second begins"]


def test_a_rolled_back_writer_releases_the_lock():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        raise Boom
    took: list[float] = []

    def other():
        start = time.monotonic()
        with transaction.atomic():
            took.append(time.monotonic() - start)

    _in_thread(other).join(15)
    assert took and took[0] < 1.0


def test_an_open_transaction_holds_the_write_lock_and_commit_frees_it():
    def taken() -> bool:
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            assert "locked" in str(error)
            return True
        finally:
            other.close()
        return False

    with transaction.atomic():
        assert taken()
    assert not taken()


def test_a_writer_waits_for_the_lock_rather_than_failing():
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert connection.settings_dict["OPTIONS"]["timeout"] >= 5


def test_an_open_transaction_holds_the_lock_file_and_commit_frees_it():
    path = f"{connection.settings_dict['NAME']}.writer-lock"

    def taken() -> bool:
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    with transaction.atomic():
        assert taken()
    assert not taken()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert taken()
        raise RuntimeError("rolled back")
    assert not taken()  # a rollback frees it too
