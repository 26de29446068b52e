"""API keys at the edge: `Authorization: Api-Key <key>` (djangorestframework-api-key's parser
and hashing), the key's scopes, and its last use."""

import functools
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
from rest_framework_api_key.permissions import KeyParser

from ..models import ApiKey
from ..sql import model_columns, models_fetch

# last_used_at is written at most this often per key: not one UPDATE per request.
LAST_USED_EVERY = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """request.auth = the ApiKey; a key that is wrong, revoked or expired is a 401."""

    keyword = KeyParser.keyword
    parser = KeyParser()

    def authenticate(self, request):
        key = self.parser.get(request)
        if not key:
            return None
        api_key = api_key_from_key(key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                "This API key is not valid (wrong or revoked).", code="invalid_key"
            )
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.", code="expired_key")
        api_key_used(api_key=api_key)
        return (None, api_key)

    def authenticate_header(self, request):
        return self.keyword


def api_key_from_key(key: str) -> ApiKey | None:
    """The usable (not revoked) key `key` is, or None: djangorestframework-api-key's
    get_from_key (looked up by its prefix, then the library's hash check, a constant-time
    compare that also moves a key hashed by an older hasher to the current one), with the row
    read by one plain SQL statement (the ORM's query cost more CPU than the hash check)."""
    prefix, _, _ = key.partition(".")
    api_key = next(iter(models_fetch(ApiKey, _key_sql(connection.alias), [prefix])), None)
    if api_key is None or not api_key.is_valid(key):
        return None
    return api_key


@functools.cache
def _key_sql(alias: str) -> str:
    table = connection.ops.quote_name(ApiKey._meta.db_table)
    return (
        f"SELECT {model_columns(ApiKey, alias='k')} FROM {table} k "  # noqa: S608 - ours
        "WHERE k.prefix = %s AND NOT k.revoked"
    )


def api_key_used(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


class HasScope(permissions.BasePermission):
    """The view's `required_scope` (or `scopes_by_method[method]`) must be among the key's."""

    message = "This API key may not do this."

    def has_permission(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated(
                "Send your API key as 'Authorization: Api-Key <key>'.", code="not_authenticated"
            )
        scope = view_scope(view, request.method)
        if scope and scope not in api_key.scopes:
            raise exceptions.PermissionDenied(
                f"This API key lacks the '{scope}' scope.", code="missing_scope"
            )
        return True


def view_scope(view, method: str) -> str | None:
    by_method = getattr(view, "scopes_by_method", None) or {}
    return by_method.get(method, getattr(view, "required_scope", None))
