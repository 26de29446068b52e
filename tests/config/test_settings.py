"""Settings built from the environment: the database defaults, the first run's checks, log lines."""

import logging
import logging.config
import os
import re
import subprocess
import sys
from datetime import datetime

from django.conf import settings

from config.settings import BASE_DIR, PERSISTENT_CONNECTION_SECONDS, database_settings_build

POSTGRES_URL = "postgres://shop:secret@db.example:5432/shop"


def test_postgres_keeps_connections_and_checks_them_when_the_url_says_nothing():
    database = database_settings_build(POSTGRES_URL)
    assert database["ENGINE"] == "common.postgresql"  # Django's, with a cheaper health check
    assert database["CONN_MAX_AGE"] == PERSISTENT_CONNECTION_SECONDS == 600
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}


def test_postgres_url_that_says_otherwise_is_honoured():
    database = database_settings_build(f"{POSTGRES_URL}?conn_max_age=0&conn_health_checks=false")
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (0, False)
    database = database_settings_build(f"{POSTGRES_URL}?conn_max_age=60", prepared_statements=False)
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (60, True)
    assert database["OPTIONS"] == {}


def test_sqlite_is_a_file_under_the_project_shared_by_processes():
    database = database_settings_build("sqlite:///var/db.sqlite3")
    assert database["NAME"] == str(BASE_DIR / "var" / "db.sqlite3")
    assert database["OPTIONS"] == {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    assert "CONN_MAX_AGE" not in database


def test_a_fresh_sqlite_setup_checks_without_a_warning(tmp_path):
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "KALEYRA_CALLBACK_BASIC_AUTH": "kaleyra:callback-secret",  # as bin/run writes it
    }
    check = [sys.executable, "manage.py", "check", "--database=default", "--fail-level=WARNING"]
    run = subprocess.run(check, cwd=BASE_DIR, env=environment, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "W040" not in run.stdout + run.stderr
    assert "System check identified no issues" in run.stdout


def test_log_lines_carry_their_utc_offset():
    formatter = logging.config.DictConfigurator({}).configure_formatter(
        dict(settings.LOGGING["formatters"]["plain"])
    )
    record = logging.LogRecord("shop", logging.INFO, __file__, 1, "hello", None, None)
    record.created = datetime(2026, 11, 30, 18, 53, 6, 123000).astimezone().timestamp()
    line = formatter.format(record)
    offset = datetime.fromtimestamp(record.created).astimezone().strftime("%z")
    expected = f"2026-11-30 18:53:06.123{offset[:3]}:{offset[3:]} INFO shop: hello"
    assert line == expected
    assert re.fullmatch(r"\S+ \S+[+-]\d\d:\d\d INFO shop: hello", line)


def test_worker_log_lines_carry_their_utc_offset():
    from celery.utils.log import ColorFormatter

    from config.celery import app

    record = logging.LogRecord("celery", logging.INFO, __file__, 1, "ready.", None, None)
    record.processName = "MainProcess"
    record.created = datetime(2026, 11, 30, 18, 53, 6).astimezone().timestamp()
    offset = datetime.fromtimestamp(record.created).astimezone().strftime("%z")
    for format, datefmt in [
        (app.conf.worker_log_format, app.conf.worker_log_datefmt),
        (app.conf.worker_log_format, app.conf.worker_task_log_datefmt),
    ]:
        line = ColorFormatter(format, datefmt=datefmt, use_color=False).format(record)
        assert line == f"[2026-11-30 18:53:06{offset}: INFO/MainProcess] ready."
