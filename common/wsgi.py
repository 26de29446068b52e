"""The WSGI application: Django's handler, with the endpoints that machines call (Kaleyra's
callbacks, WhatsApp's checkout endpoint) answered through a shorter middleware chain.

Django sends every request through the whole MIDDLEWARE: sessions, CSRF, authentication,
messages, clickjacking and static files are there for the admin's browser pages, and each layer
costs a little even when it does nothing (measured in-process on a 2-core VM: a callback took
about 170 microseconds less with every layer but the Content-Length check left out, a sixth of
its time in Django). A request whose path is exactly one of `machine_paths` is handled
by a second handler built from MACHINE_MIDDLEWARE instead: the same URLconf, views, signals and
error handling, only fewer layers. That chain must keep what such an endpoint still needs (the
Host check of CommonMiddleware, SecurityMiddleware's headers and redirect) and may hold only
middleware without process_view, process_exception or process_template_response hooks (the
browser-only ones are the ones that have them); anything else is refused at start-up.
"""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.urls import reverse
from django.utils.module_loading import import_string

HOOKS = ("process_view", "process_exception", "process_template_response")


class MachineHandler(WSGIHandler):
    """Django's WSGI handler with settings.MACHINE_MIDDLEWARE (sync, no hooks) as its chain."""

    def load_middleware(self, is_async=False):
        if is_async:
            raise ImproperlyConfigured("MachineHandler is a WSGI (sync) handler.")
        self._view_middleware, self._exception_middleware = [], []
        self._template_response_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.MACHINE_MIDDLEWARE):
            middleware = import_string(path)(handler)
            hooks = [hook for hook in HOOKS if hasattr(middleware, hook)]
            if hooks:
                raise ImproperlyConfigured(
                    f"MACHINE_MIDDLEWARE cannot hold {path}: it has {', '.join(hooks)}."
                )
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class PathSplitApplication:
    """Requests for exactly one of `machine_paths` (PATH_INFO) go to `machine`, the rest to
    `main`."""

    def __init__(self, *, main, machine, machine_paths: Iterable[str]):
        self.main, self.machine = main, machine
        self.machine_paths = frozenset(machine_paths)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in self.machine_paths:
            return self.machine(environ, start_response)
        return self.main(environ, start_response)


def wsgi_application_build() -> PathSplitApplication:
    """Django's application plus the machine handler for settings.MACHINE_URL_NAMES' paths."""
    main = get_wsgi_application()
    paths = [reverse(name) for name in settings.MACHINE_URL_NAMES]
    return PathSplitApplication(main=main, machine=MachineHandler(), machine_paths=paths)
