"""SQLite with a fair queue for writers.

With ``transaction_mode`` IMMEDIATE every transaction takes SQLite's write lock at BEGIN.
A writer that finds it taken waits in SQLite's busy handler, which sleeps in growing steps of
up to 100 ms and wakes in no order. Here a writer first takes an exclusive ``flock`` on a lock
file next to the database, held until its transaction ends, threads and processes alike;
SQLite's own lock is then free when BEGIN runs.

Kept against Django's own backend (the issue 12 rule: a deviation needs 2x on something a user
feels) by the bench row "transition (accept) p99 ms" of ``./run bench --compare`` with 2
clients on SQLite, 2026-12-06 (bench/RESULTS.md): 26.9 ms with this queue against 138.3 ms
with IMMEDIATE and the busy timeout alone, which also misses the 100 ms target. It overrides
the connection's private ``_start_transaction_under_autocommit``, ``_commit``, ``_rollback``
and ``_close``: Django has no public hook around a transaction's start and end.

A writer that finds the ``flock`` taken tries again every ``POLL_S`` until SQLite's timeout has
passed (a blocking ``flock`` could not give up); past it BEGIN meets SQLite's own lock and
waits or fails as Django's backend would.
"""

import fcntl
import os
import time

from django.db.backends.sqlite3 import base

POLL_S = 0.0001


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_fd: int | None = None
    _writer_locked = False

    def _writer_lock(self) -> None:
        if self.is_in_memory_db():
            return
        if self._writer_fd is None:
            self._writer_fd = os.open(f"{self.settings_dict['NAME']}.writer-lock",
                                      os.O_RDWR | os.O_CREAT, 0o600)  # fmt: skip
        deadline = time.monotonic() + float(self.settings_dict["OPTIONS"].get("timeout", 30))
        while True:
            try:
                fcntl.flock(self._writer_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Past the deadline, let BEGIN meet SQLite's own lock and fail as usual.
                if time.monotonic() > deadline:
                    return
                time.sleep(POLL_S)
        self._writer_locked = True

    def _writer_unlock(self) -> None:
        if self._writer_locked and self._writer_fd is not None:
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)
        self._writer_locked = False

    def _start_transaction_under_autocommit(self):
        self._writer_lock()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._writer_unlock()
            raise

    def _commit(self):
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._writer_unlock()

    def _rollback(self):
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._writer_unlock()

    def _close(self):
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._writer_unlock()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None
