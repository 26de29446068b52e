import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common.wsgi import wsgi_application_build  # noqa: E402

# Django's handler; the endpoints machines call go through a shorter middleware chain
# (settings.MACHINE_URL_NAMES and MACHINE_MIDDLEWARE).
application = wsgi_application_build()

# The web process refuses to start without what its endpoints need: a missing checkout key
# fails here, at start-up, not at WhatsApp's first request.
from checkout.keys import private_key_require  # noqa: E402

private_key_require()
