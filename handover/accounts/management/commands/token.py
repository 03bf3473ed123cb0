from django.core.management.base import BaseCommand, CommandError

from handover.accounts.models import User
from handover.accounts.services import token_create


class Command(BaseCommand):
    help = "Print a new API bearer token for an account."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--label", default="cli")

    def handle(self, *args, name: str, label: str, **options):
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise CommandError(f"No active account named {name!r}.")
        self.stdout.write(token_create(user=user, label=label))
