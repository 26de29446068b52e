import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# The web server does not start in production without the checkout endpoint's private key.
from checkout.keys import private_key_require  # noqa: E402

private_key_require()
