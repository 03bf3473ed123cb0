"""Settings every test runs with; the shared actors, factories and steps are in handover.testing."""

import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

# The helpers' own asserts explain a failure as a test's do.
pytest.register_assert_rewrite("handover.testing")

pytest_plugins = [
    "handover.testing.actors",
    "handover.testing.clock",
    "handover.testing.factories",
    "handover.testing.mail",
    "handover.testing.smtp",
    "handover.testing.snapshots",
    "handover.testing.stripe",
]


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _static_files_found_when_asked() -> Iterator[None]:
    """Each test client builds the middleware anew, and WhiteNoise would walk every static
    folder for each (45 ms a client). In tests it looks a file up when one is asked for, as
    under a development server (its ``AUTOREFRESH``); a deployment keeps the table it builds
    once per process."""
    from django.test import override_settings

    with override_settings(WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture(autouse=True, scope="session")
def _flush_lifts_append_only_triggers() -> Iterator[None]:
    """Transactional tests empty the tables after each test: with DELETE on SQLite, which the
    append-only triggers refuse (PostgreSQL's TRUNCATE is not a row operation). Only tests
    flush, so only here: the triggers are lifted for the flush, in its transaction, and put back."""
    from handover.evidence.triggers import APPEND_ONLY, sqlite_create, sqlite_drop

    if connection.vendor != "sqlite":
        yield
        return
    operations = type(connection.ops)
    plain = operations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = plain(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        guarded = [table for table in APPEND_ONLY if table in tables]
        if not statements or not guarded:
            return statements
        drops = [sql for table in guarded for sql in sqlite_drop(table)]
        creates = [sql for table in guarded for sql in sqlite_create(table)]
        return drops + statements + creates

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(operations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """The production hasher costs about a second per account here; tests make many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """The sign-in throttle counts failures in the cache; one test's must not lock out the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path) -> None:
    """Stored files go to a fresh folder (or, with HANDOVER_STORAGE=s3, a fresh prefix of
    the test bucket) per test, and scratch files to a fresh folder."""
    settings.HANDOVER_TMP_DIR = tmp_path / "tmp"
    settings.HANDOVER_TMP_DIR.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(settings.HANDOVER_TMP_DIR)
    default = settings.STORAGES["default"]
    if settings.HANDOVER_STORAGE == "s3":
        options = {**default["OPTIONS"], "location": f"test-{uuid.uuid4().hex}"}
        default = {"BACKEND": default["BACKEND"], "OPTIONS": options}
    else:
        default = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        }
    settings.STORAGES = {**settings.STORAGES, "default": default}
