"""The commands' edge: a refusal (DomainError) becomes a CommandError with its message."""

from django.core.management.base import BaseCommand, CommandError

from .errors import DomainError


class DomainCommand(BaseCommand):
    """A management command whose refusals print as `CommandError: <message>` (exit status 1)
    instead of a traceback; the commands that call services derive from it."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as error:
            raise CommandError(error.message) from error
