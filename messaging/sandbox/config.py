"""The sandbox's settings (GET and POST /_sandbox/config) and the faults it can play."""

from dataclasses import dataclass, field, fields

FAULTS = ("5xx", "502", "429", "e110", "slow", "timeout", "drop", "drop_after_accept")


@dataclass
class SandboxConfig:
    sid: str = "SANDBOXSID"
    api_key: str = "sandbox-api-key"
    number: str = "+910000000000"
    latency_ms: float = 0
    fail_rate: float = 0.0
    faults: list = field(default_factory=lambda: ["5xx", "429"])
    slow_ms: float = 1000
    timeout_ms: float = 30000
    e110: bool = False
    wav2101: bool = False
    callback_url: str = ""
    callback_auth: str = ""  # user:password for HTTP Basic
    callback_delay_ms: float = 50
    # posted for each accepted message, in order (fewer spares a test's live server)
    callback_statuses: list = field(default_factory=lambda: ["sent", "delivered", "read"])
    fail_digit: str = ""  # recipients ending in it get sent then failed
    seed: int | None = None

    def update(self, changes: dict) -> None:
        names = {f.name: f for f in fields(self)}
        unknown = set(changes) - set(names)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        bad = [kind for kind in changes.get("faults", []) if kind not in FAULTS]
        if bad:
            raise ValueError(f"unknown fault(s): {', '.join(bad)}; known: {', '.join(FAULTS)}")
        for name, value in changes.items():
            setattr(self, name, value)
