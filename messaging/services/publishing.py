"""How the services hand work to the workers without importing messaging.tasks (which imports
the services): the tasks module registers its publishers here when it is imported (Celery's
autodiscovery in a worker, MessagingConfig.ready in every process)."""

from collections.abc import Callable

BATCH_DISPATCH = "batch_dispatch"  # (batch_id): fan a new batch's messages out into chunks
BATCH_PREPARE = "batch_prepare"  # (batch_id, order_ids, options, user_id): write a big batch
MESSAGES_ENQUEUE = "messages_enqueue"  # (message_ids): send these messages

_publishers: dict[str, Callable] = {}


def publisher_register(*, name: str, publish: Callable) -> None:
    _publishers[name] = publish


def publish(name: str, *args) -> None:
    """Hand this work to the workers now (callers wrap it in transaction.on_commit)."""
    try:
        publisher = _publishers[name]
    except KeyError:
        raise RuntimeError(
            f"No publisher for {name!r}: messaging.tasks is not imported (MessagingConfig.ready "
            "imports it)."
        ) from None
    publisher(*args)
