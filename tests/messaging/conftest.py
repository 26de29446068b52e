import pytest
from django.contrib.auth.models import Permission

from messaging.sandbox import KaleyraSandbox, SandboxConfig
from tests.factories import UserFactory

SID = "HXAP16XXXXXX97IN"
API_KEY = "Axxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx3-secret"
NUMBER = "+919999900000"
BASE_URL = "https://kaleyra.test"
SEND_URL = f"{BASE_URL}/v2/{SID}/whatsapp/{NUMBER}/messages"


@pytest.fixture
def kaleyra(settings):
    """Kaleyra settings pointing at a fake host (for `responses`), no rate limit, fast backoff."""
    settings.KALEYRA_API_BASE_URL = BASE_URL
    settings.KALEYRA_SID = SID
    settings.KALEYRA_API_KEY = API_KEY
    settings.KALEYRA_WHATSAPP_NUMBER = NUMBER
    settings.KALEYRA_SENDS_PER_SECOND = 0
    settings.KALEYRA_MAX_ATTEMPTS = 3
    settings.KALEYRA_RETRY_BACKOFF_SECONDS = 1
    settings.KALEYRA_RETRY_BACKOFF_MAX_SECONDS = 10
    settings.KALEYRA_READ_TIMEOUT = 2
    settings.KALEYRA_CONNECT_TIMEOUT = 2
    return settings


@pytest.fixture
def sandbox(kaleyra):
    """The Kaleyra sandbox on a free port, with the product pointed at it."""
    server = KaleyraSandbox(SandboxConfig(sid=SID, api_key=API_KEY, number=NUMBER, seed=7))
    server.start(port=0)
    kaleyra.KALEYRA_API_BASE_URL = server.base_url
    yield server
    server.stop()


def staff(*perms):
    user = UserFactory(is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def operator(client):
    user = staff(
        "view_order",
        "change_order",
        "view_coupon",
        "view_sendbatch",
        "view_sentmessage",
        "send_messages",
    )
    client.force_login(user)
    return user
