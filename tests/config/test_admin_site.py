"""The admin's own look: every page links the favicon, and the file is served."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/admin/"])
def test_admin_pages_link_the_favicon_and_it_is_served(client, admin_user, settings, path):
    settings.WHITENOISE_USE_FINDERS = True  # as collectstatic + WhiteNoise serve it in production
    client.force_login(admin_user)
    if path == "/admin/login/":
        client.logout()
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert "Django administration" in html  # the branding is still Django's

    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])
