"""What every endpoint's schema shares: the error body and the errors any call may get."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSchema(serializers.Serializer):
    field = serializers.CharField(help_text="The field's path as sent, e.g. items[0].quantity.")
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSchema(serializers.Serializer):
    """Every error: a stable code, a message fit for people, the fields concerned."""

    code = serializers.CharField()
    message = serializers.CharField()
    details = ErrorDetailSchema(many=True)


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSchema, description=description)


# The answers any authenticated call may get.
COMMON_ERRORS = {
    401: error("No API key, or a wrong, revoked or expired one."),
    403: error("The key lacks the scope this needs."),
    413: error("The body is larger than API_MAX_BODY_BYTES."),
    429: error("Too many requests for this key: wait Retry-After seconds."),
}
NOT_FOUND = {404: error("No such record.")}
INVALID = {400: error("The request is not valid: details name each field as sent.")}


def responses(ok: dict, *extra: dict) -> dict:
    merged = {**ok}
    for part in (*extra, COMMON_ERRORS):
        merged.update(part)
    return merged


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "common.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a key made with `manage.py api_key_create`.",
        }


def api_paths_only(endpoints, **kwargs):
    """SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"]: the schema documents /api/v1/ only (the
    checkout endpoint and Kaleyra's callbacks are other parties' contracts)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
