"""docker-compose.yml cannot run here (no Docker engine): check that everything it names exists."""

import ast
import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
SETTINGS = (ROOT / "config" / "settings.py").read_text()


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def app_services():
    return {name: s for name, s in compose()["services"].items() if "build" in s}


def commands(service):
    command = service["command"]
    text = command if isinstance(command, str) else shlex.join(command)
    if text.startswith("sh -c "):
        text = shlex.split(text)[2]
    return [shlex.split(part) for part in re.split(r"&&|;", text) if part.strip()]


def test_compose_has_the_five_services_with_healthchecks():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert all("healthcheck" in s for s in services.values())
    assert services["web"]["image"] == services["worker"]["image"]  # one image


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_every_command_exists(name):
    for argv in commands(app_services()[name]):
        program = argv[0]
        if program == "python" and argv[1] == "manage.py":
            assert argv[2] in get_commands(), argv
        elif program == "gunicorn":
            assert argv[1:3] == ["-c", "config/gunicorn.py"] and (ROOT / argv[2]).exists()
            # Not imported: the WSGI module refuses to load without a checkout key.
            module, attribute = argv[3].split(":")
            source = Path(importlib.util.find_spec(module).origin).read_text()
            assert re.search(rf"^{attribute} = ", source, re.M), argv
        elif program == "celery":
            assert argv[1:3] == ["-A", "config"]
            assert hasattr(importlib.import_module("config"), "celery_app")
            assert argv[3] in {"worker", "beat", "inspect"}
        else:
            pytest.fail(f"unknown program in {name}: {argv}")


def test_every_variable_exists():
    for service in app_services().values():
        for variable in service["environment"]:
            assert re.search(rf"^{variable}=", ENV_EXAMPLE, re.M), variable
            assert f'"{variable}"' in SETTINGS, variable


def test_env_example_lists_every_variable_the_settings_read():
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', SETTINGS))
    listed = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE, re.M))
    assert read - listed == set()
    assert listed - read == set()


def test_dockerfile_copies_the_apps_it_installs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for app in ["config", "orders", "coupons", "messaging", "checkout"]:
        assert f"COPY {app} ./{app}" in dockerfile


@pytest.mark.django_db
def test_every_scheduled_job_is_a_registered_task_that_runs():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task = app.tasks[entry["task"]]
        result = task.apply()
        assert result.successful(), (entry["task"], result.traceback)


def test_no_module_imports_another_modules_private_names():
    """Helpers used across modules are public and documented (e.g. messaging.callbacks.fields):
    no `from x import _name` in the apps."""
    private = []
    for app in ("common", "orders", "coupons", "messaging", "checkout", "config"):
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    private += [
                        f"{path.relative_to(ROOT)}: {node.module} {alias.name}"
                        for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")
                    ]
    assert private == []
