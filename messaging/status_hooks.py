"""One call point for "these messages changed status".

Every service that moves a SentMessage's `status` (sending, the recovery sweep, Kaleyra's
callbacks) calls `message_statuses_changed(changes=[...])` inside the transaction that made the
changes, once per set of changes, with one StatusChange per message that really moved. Apps above
messaging (or messaging's own parts: outgoing event webhooks, batch figures) register a hook in
their AppConfig.ready() instead of being imported by the code that moves statuses. An error a hook
raises rolls the status change back, so a hook must only record (e.g. queue an outgoing event),
never call out.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StatusChange:
    message_id: int
    batch_id: int | None
    order_id: int | None
    before: str
    after: str
    at: datetime


_HOOKS: list[Callable] = []


def message_status_hook_register(*, hook: Callable) -> None:
    """Have `hook(changes=[StatusChange, ...])` called for each set of status changes (once,
    however often it is registered)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


def message_statuses_changed(*, changes: Sequence[StatusChange]) -> None:
    """Tell the registered hooks; nothing is called for an empty set."""
    if not changes:
        return
    for hook in _HOOKS:
        hook(changes=list(changes))
