"""How log lines are written: the moment with its UTC offset, so that lines from the web server,
the workers and PostgreSQL (often in different time zones) can be put side by side."""

import logging
from datetime import datetime


class OffsetTimeFormatter(logging.Formatter):
    """`2026-11-30 18:53:06.123+05:30 INFO name: message`: local time (TIME_ZONE), its offset."""

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        moment = datetime.fromtimestamp(record.created).astimezone()
        if datefmt:
            return moment.strftime(datefmt)
        return moment.isoformat(sep=" ", timespec="milliseconds")
