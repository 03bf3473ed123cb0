import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

HANDOVER = [sys.executable, "-m", "handover.cli"]


class Command(BaseCommand):
    help = "Serve Handover with gunicorn (threaded WSGI workers) and start a worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HANDOVER_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("HANDOVER_PORT", 8000)))
        parser.add_argument("--no-worker", action="store_true", help="Do not start a worker.")
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host: str, port: int, no_worker: bool, no_migrate: bool, **options):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        # SIGTERM ends the loop below through SystemExit, so the children are stopped too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        server = subprocess.Popen(self._gunicorn(host, port))
        worker = None if no_worker else self._worker()
        self.stdout.write(f"Handover is serving on http://{host}:{port}/")
        try:
            while server.poll() is None:
                if worker is not None and worker.poll() is not None:
                    self.stderr.write(f"worker exited with {worker.returncode}; restarting it")
                    worker = self._worker()
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            for process in (server, worker):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in (server, worker):
                if process is not None:
                    process.wait(timeout=30)

    @staticmethod
    def _worker() -> subprocess.Popen:
        return subprocess.Popen([*HANDOVER, "worker", "-v", "0"])

    @staticmethod
    def _gunicorn(host: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "handover.wsgi:application",
            "--bind", f"{host}:{port}",
            "--workers", str(settings.HANDOVER_WEB_WORKERS),
            "--threads", str(settings.HANDOVER_WEB_THREADS),
            "--worker-class", "gthread",
            "--access-logfile", "-",
        ]  # fmt: skip
