import pytest


@pytest.fixture
def staff_client(client, django_user_model, demo):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client
