"""API clients for /api/v1/ tests: a key with the scopes asked for."""

from rest_framework.test import APIClient

from common.api.keys import api_key_create


def api_client(*scopes, name="shop") -> APIClient:
    _, key = api_key_create(name=name, scopes=list(scopes) or ["read", "write", "send"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client
