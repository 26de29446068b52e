import pytest
from django.conf import settings


def _on_postgres():
    return settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"


def _on_redis():
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs DATABASE_URL on PostgreSQL")
    skip_redis = pytest.mark.skip(reason="needs CELERY_BROKER_URL on Redis")
    for item in items:
        if "postgres" in item.keywords and not _on_postgres():
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not _on_redis():
            item.add_marker(skip_redis)


@pytest.fixture
def demo(db):
    """The reference's sample order and coupons, loaded by the real load_demo service."""
    from config.demo import DEMO_REFERENCE_ID, demo_load
    from orders.models import Order

    demo_load()
    return Order.objects.get(reference_id=DEMO_REFERENCE_ID)


@pytest.fixture
def api(db):
    """An /api/v1/ client whose key has every scope (tests/api_keys.py makes others)."""
    from tests.api_keys import api_client

    return api_client("read", "write", "send")
