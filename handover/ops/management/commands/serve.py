import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


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
        handover = [sys.executable, "-m", "handover.cli"]
        worker = None if no_worker else subprocess.Popen([*handover, "worker", "-v", "0"])
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "handover.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(settings.HANDOVER_WEB_WORKERS),
            "--threads",
            str(settings.HANDOVER_WEB_THREADS),
            "--worker-class",
            "gthread",
            "--access-logfile",
            "-",
        ]
        server = subprocess.Popen(gunicorn)
        self.stdout.write(f"Handover is serving on http://{host}:{port}/")
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in (server, worker):
                if process and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
