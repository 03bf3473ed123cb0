import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from handover.ops.demo import demo_seed, demo_summary, demo_tokens


class Command(BaseCommand):
    help = (
        "Migrate, seed demo data (once; a second run adds nothing), print the URLs, logins, "
        "fresh API tokens and curl examples, then serve."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="Seed and print only; do not start a server."
        )

    def handle(self, *args, host: str, port: int, no_serve: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        data = demo_seed()
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        site = f"http://{shown_host}:{port}"
        # E-mails link to the demo's own pages, in this process and in the server and worker
        # it starts, unless HANDOVER_BASE_URL says otherwise.
        if "HANDOVER_BASE_URL" not in os.environ:
            os.environ["HANDOVER_BASE_URL"] = settings.HANDOVER_BASE_URL = site
        self.stdout.write(demo_summary(data, demo_tokens(data), site))
        if not no_serve:
            call_command("serve", host=host, port=port, no_migrate=True)
