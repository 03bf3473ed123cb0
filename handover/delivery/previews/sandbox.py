"""Run a decoder in a forked child process with limits on time and memory.

Decoders (libvips, PDFium) parse files from strangers. A crafted or merely broken file can make
them crash, loop or allocate without end; in a child that costs the child, and the Django worker
that asked gets a ``PreviewError`` with a reason instead.

Why fork and not a fresh interpreter: Python start-up plus the imports cost about 200 ms here,
more than a whole PDF preview may take. A forked child starts in a few ms with everything
already imported.

Rules that keep fork safe:

* libvips and PDFium only ever run in children, never in the parent. The parent imports them
  (which loads and initialises the libraries but starts no threads and holds no locks), so a
  fork never copies a library in the middle of an operation, with a lock held by a thread that
  does not exist in the child.
* The child touches nothing of the parent's: no database, no closing of inherited descriptors
  or connections, no atexit handlers or finalisers. It ends with ``os._exit``, whatever happens.

This bounds resources; it is not a security boundary (same user, same files, no seccomp).
"""

import contextlib
import ctypes
import gc
import logging
import math
import os
import pickle
import resource
import selectors
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from handover.delivery.previews import PreviewError

logger = logging.getLogger(__name__)

_OK = "ok"
_REFUSED = "refused"  # the child raised PreviewError
_NO_MEMORY = "no-memory"
_FAILED = "failed"

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)  # loaded here so the child need not load anything
_CHILD_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1)


def run_limited[T](
    fn: Callable[..., T], /, *args: Any, timeout_s: float, memory_bytes: int, **kwargs: Any
) -> T:
    """Return ``fn(*args, **kwargs)`` computed in a forked child held to the given limits."""
    read_fd, write_fd = os.pipe()  # not inherited by anything the child may exec
    parent_pid = os.getpid()
    try:
        with warnings.catch_warnings():
            # Python warns when a process with threads forks (the worker's scheduler, the
            # upload hashers in tests). The child never takes a lock another thread could
            # hold: it runs already-loaded decoders, pickles its answer and _exits.
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:
        _child(fn, args, kwargs, read_fd, write_fd, parent_pid, timeout_s, memory_bytes)
    os.close(write_fd)
    started = time.monotonic()
    status: int | None = None
    try:
        report = _read_report(read_fd, started + timeout_s)
        if report is None:
            os.kill(pid, signal.SIGKILL)
        status = _reap(pid, started)
    finally:
        os.close(read_fd)
        if status is None:  # interrupted while waiting: never leave the child running
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    if report is None:
        raise PreviewError(f"took longer than {timeout_s:g} s")
    return _outcome(report, status, timeout_s, memory_bytes)


def _child(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    read_fd: int,
    write_fd: int,
    parent_pid: int,
    timeout_s: float,
    memory_bytes: int,
) -> NoReturn:
    code = 70  # EX_SOFTWARE, seen only when even reporting failed
    try:
        os.close(read_fd)
        _confine(parent_pid, timeout_s, memory_bytes)
        _write_all(write_fd, _run(fn, args, kwargs))
        code = 0
    finally:
        # Whatever happened (even SystemExit or KeyboardInterrupt), the child never returns
        # into the parent's code, and skips atexit handlers and buffered output of the parent.
        os._exit(code)


def _confine(parent_pid: int, timeout_s: float, memory_bytes: int) -> None:
    # The parent's objects are inherited, not ours to collect: freezing them keeps the
    # collector from touching (and copying) every page of the parent's heap, and from
    # running finalisers of the parent's garbage (a database connection's, say).
    gc.freeze()
    for signum in _CHILD_SIGNALS:  # the parent's handlers (gunicorn's, say) are not for us
        signal.signal(signum, signal.SIG_DFL)
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # a killed worker takes its child along
    if os.getppid() != parent_pid:  # the parent died before prctl took hold
        os._exit(1)
    cpu_s = math.ceil(timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 2))
    # The budget comes on top of the address space inherited from the parent, which is mostly
    # shared and which a threaded worker inflates with stacks and malloc arenas it reserved.
    address_space = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a core would hold the parent's secrets


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _run(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    try:
        return pickle.dumps((_OK, fn(*args, **kwargs)))
    except PreviewError as exc:
        return pickle.dumps((_REFUSED, str(exc)))
    except MemoryError:
        return pickle.dumps((_NO_MEMORY, ""))
    except Exception:
        return pickle.dumps((_FAILED, traceback.format_exc()))


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_report(fd: int, deadline: float) -> bytes | None:
    """All the child wrote, once it closed the pipe (by exiting); None if the deadline passed."""
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _reap(pid: int, started: float) -> int:
    _, status, usage = os.wait4(pid, 0)
    logger.debug(
        "preview child %d: %.0f ms, %.0f ms CPU, %d MB peak",
        pid,
        (time.monotonic() - started) * 1000,
        (usage.ru_utime + usage.ru_stime) * 1000,
        usage.ru_maxrss // 1024,
    )
    return status


def _outcome(report: bytes, status: int, timeout_s: float, memory_bytes: int) -> Any:
    if report:
        tag, value = pickle.loads(report)  # from our own child, written by _run above
        if tag == _OK:
            return value
        if tag == _REFUSED:
            raise PreviewError(value)
        if tag == _NO_MEMORY:
            raise PreviewError(f"needed more than {memory_bytes // 2**20} MB of memory")
        logger.warning("preview decoder failed:\n%s", value)
        raise PreviewError("the decoder failed on this file")
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    if signum == signal.SIGXCPU:
        raise PreviewError(f"took longer than {timeout_s:g} s")
    if signum == signal.SIGKILL:  # not ours: the kernel's out-of-memory killer, or an operator
        raise PreviewError("the decoder was stopped by the system")
    if signum:
        raise PreviewError(f"the decoder crashed ({signal.Signals(signum).name})")
    raise PreviewError(f"the decoder crashed (exit status {os.waitstatus_to_exitcode(status)})")
