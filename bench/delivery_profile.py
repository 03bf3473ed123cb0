"""A gunicorn config file for `bench/delivery.py --profile`: profile each delivery upload in the
thread that handles it and write the stats to $BENCH_PROFILE_DIR/<pid>-<n>.prof.

Given to `handover serve` as GUNICORN_CMD_ARGS="-c bench/delivery_profile.py", so the product's
own command line is used unchanged. cProfile makes Python-heavy code look slower than it is;
the share of each function is what to read, not the absolute times."""

import cProfile
import itertools
import os
import threading

_local = threading.local()
_count = itertools.count()


def pre_request(worker, req):
    # Python 3.12's cProfile takes a process-wide hook, so one request at a time is profiled:
    # the deliveries, which the bench sends one by one.
    if req.method != "POST" or not req.path.endswith("/deliveries"):
        return
    _local.profile = cProfile.Profile()
    _local.profile.enable()


def post_request(worker, req, environ, resp):
    profile = getattr(_local, "profile", None)
    if profile is None:
        return
    profile.disable()
    _local.profile = None
    out = os.environ.get("BENCH_PROFILE_DIR", "/tmp")
    profile.dump_stats(os.path.join(out, f"{os.getpid()}-{next(_count)}.prof"))
