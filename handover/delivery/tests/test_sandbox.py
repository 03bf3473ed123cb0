"""The decoder sandbox: a forked child held to a time and memory limit, whose every way of
failing comes back to the parent as a PreviewError with a reason, and which is always reaped."""

import ctypes
import faulthandler
import os
import time
from pathlib import Path

import pytest

from handover.delivery.previews import PreviewError
from handover.delivery.previews.sandbox import run_limited

MB = 2**20


def describe(number: int, blob: bytes, *, flag: bool) -> dict:
    return {"pid": os.getpid(), "number": number, "size": len(blob), "flag": flag}


def sleep_forever(pid_file: Path) -> None:
    pid_file.write_text(str(os.getpid()))
    time.sleep(600)


def spin_forever(pid_file: Path) -> None:
    pid_file.write_text(str(os.getpid()))
    while True:
        pass


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * MB))


def refuse() -> None:
    raise PreviewError("the picture is 90000 x 90000 pixels")


def fail() -> None:
    raise ValueError("an unexpected bug")


def segfault() -> None:
    faulthandler.disable()  # pytest's would print the stack to the terminal
    ctypes.string_at(0)  # what a decoder bug looks like: a read through a null pointer


def exit_from_child(marker: Path, error: type[BaseException]) -> None:
    marker.write_text("child ran\n")
    raise error()


def assert_reaped(pid: int) -> None:
    """The child is gone and was waited for: neither running nor a zombie."""
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_return_value_and_arguments_pass_through_the_pipe():
    result = run_limited(
        describe, 7, b"x" * 300_000, flag=True, timeout_s=10, memory_bytes=512 * MB
    )

    assert result == {"pid": result["pid"], "number": 7, "size": 300_000, "flag": True}
    assert result["pid"] != os.getpid()
    assert_reaped(result["pid"])


def test_preview_error_in_the_child_reaches_the_parent_with_its_message():
    with pytest.raises(PreviewError, match=r"^the picture is 90000 x 90000 pixels$"):
        run_limited(refuse, timeout_s=10, memory_bytes=512 * MB)


def test_any_other_exception_becomes_a_preview_error():
    with pytest.raises(PreviewError, match="the decoder failed"):
        run_limited(fail, timeout_s=10, memory_bytes=512 * MB)


def test_a_child_sleeping_past_the_timeout_is_killed_and_reaped(tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()

    with pytest.raises(PreviewError, match=r"took longer than 0\.5 s"):
        run_limited(sleep_forever, pid_file, timeout_s=0.5, memory_bytes=512 * MB)

    assert time.monotonic() - started < 5
    assert_reaped(int(pid_file.read_text()))


def test_a_child_spinning_the_cpu_is_killed_too(tmp_path):
    pid_file = tmp_path / "pid"

    with pytest.raises(PreviewError, match=r"took longer than 0\.5 s"):
        run_limited(spin_forever, pid_file, timeout_s=0.5, memory_bytes=512 * MB)

    assert_reaped(int(pid_file.read_text()))


def test_allocating_past_the_memory_limit_is_refused_with_the_limit():
    with pytest.raises(PreviewError, match="needed more than 512 MB of memory"):
        run_limited(allocate, 2048, timeout_s=30, memory_bytes=512 * MB)


def test_allocating_within_the_limit_works():
    assert run_limited(allocate, 300, timeout_s=30, memory_bytes=512 * MB) == 300 * MB


def test_a_crashing_decoder_becomes_a_preview_error():
    with pytest.raises(PreviewError, match=r"the decoder crashed \(SIGSEGV\)"):
        run_limited(segfault, timeout_s=10, memory_bytes=512 * MB)


@pytest.mark.parametrize("error", [SystemExit, KeyboardInterrupt])
def test_the_child_never_returns_into_the_parents_code(tmp_path, error):
    marker = tmp_path / "marker"

    with pytest.raises(PreviewError, match="the decoder crashed"):
        run_limited(exit_from_child, marker, error, timeout_s=10, memory_bytes=512 * MB)
    with marker.open("a") as f:  # a child that escaped would run this line as well
        f.write("parent ran\n")

    time.sleep(0.2)
    assert marker.read_text() == "child ran\nparent ran\n"


# Set at run time by the test below, after every import: only a fork of the caller sees it.
_STATE: dict[str, str] = {}


def parent_and_state() -> tuple[int, str | None]:
    return os.getppid(), _STATE.get("token")


def test_the_child_is_a_fork_of_the_caller_not_a_fresh_interpreter():
    """A fresh interpreter would pay Python's start-up and the imports (about 200 ms here) for
    each preview; a fork starts with the caller's memory as it is. Checked by what the child
    sees, not by a stopwatch: timings on these shared machines are for benchmarks."""
    _STATE["token"] = token = os.urandom(8).hex()
    try:
        parent, seen = run_limited(parent_and_state, timeout_s=10, memory_bytes=512 * MB)
    finally:
        _STATE.clear()
    assert parent == os.getpid()
    assert seen == token
