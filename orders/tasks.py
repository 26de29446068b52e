"""Celery tasks of the orders app: thin wrappers around its services."""

from celery import shared_task

from .csv_import.retention import order_imports_purge


@shared_task
def order_imports_purge_task() -> dict:
    """Expired CSV previews and old imports deleted (beat, hourly)."""
    return order_imports_purge()
