import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# The web process refuses to start without what its endpoints need: a missing checkout key
# fails here, at start-up, not at WhatsApp's first request.
from checkout.keys import private_key_require  # noqa: E402

private_key_require()
