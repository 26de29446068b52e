"""Settings for the test suite: the real settings, with a throwaway secret and fast hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_AUTOREFRESH = True  # serve from the finders; tests never run collectstatic

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the browser and worker tests share the test database with the
    # server and worker processes they start.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405

# Callbacks applied in the request, so a test sees their effects as soon as the post returns;
# the queued path (the production default) is tested with this overridden (tests/messaging/
# test_callbacks_queued.py, and the faults suite, with real workers).
CALLBACKS_APPLY = os.environ.get("CALLBACKS_APPLY_TESTS", "inline")
