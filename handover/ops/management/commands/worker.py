from django.core.management import call_command
from django.core.management.base import BaseCommand

from handover.ops.scheduler import scheduler_start


class Command(BaseCommand):
    help = "Run a background worker: the task queue plus the timer scheduler."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Only run tasks; another worker schedules the timers.",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run what is queued, then exit (no scheduler)."
        )

    def handle(self, *args, no_scheduler: bool, batch: bool, **options):
        if not (no_scheduler or batch):
            scheduler_start()
        worker_options = {
            "queue_name": "*",
            "interval": 1.0,
            "reload": False,
            "verbosity": options["verbosity"],
        }
        if batch:
            worker_options["batch"] = True
        call_command("db_worker", **worker_options)
