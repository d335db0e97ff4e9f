from django.core.management.base import BaseCommand, CommandError

from users.services import ListenerAlreadyExists, create_listener


class Command(BaseCommand):
    help = "Create a listener account and print its API token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the listener's username")
        parser.add_argument("--email", default="")

    def handle(self, *args, name: str, email: str, **options) -> None:
        try:
            _, token = create_listener(username=name, email=email)
        except ListenerAlreadyExists as error:
            raise CommandError(str(error)) from error
        self.stdout.write(token.key)
