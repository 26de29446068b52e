"""Making API keys (the command and the admin)."""

from django.core.exceptions import ValidationError

from ..errors import DomainError
from ..models import ApiKey, ApiScope


class ApiKeyError(DomainError):
    code = "invalid_key_request"


def api_key_create(*, name: str, scopes=None) -> tuple[ApiKey, str]:
    """(the stored key, the key itself: shown once, only its hash is kept)."""
    scopes = list(dict.fromkeys(scopes or [ApiScope.READ, ApiScope.WRITE]))
    name = (name or "").strip()
    if not name:
        raise ApiKeyError("Give the key a name (whose system uses it).")
    unknown = [scope for scope in scopes if scope not in ApiScope.values]
    if unknown:
        raise ApiKeyError(f"Unknown scope {', '.join(unknown)}: use {', '.join(ApiScope.values)}.")
    api_key = ApiKey(name=name[:50], scopes=scopes)
    try:
        api_key.full_clean(exclude=["id", "prefix", "hashed_key"])
    except ValidationError as error:
        raise ApiKeyError("; ".join(error.messages)) from None
    key = ApiKey.objects.assign_key(api_key)
    api_key.save()
    return api_key, key
