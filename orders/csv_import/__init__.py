"""Orders imported from a CSV file in the admin (one row per item; the layout in columns.py),
checked by the intake as the REST API's bodies are, then created all at once or not at all."""

from .columns import COLUMNS, REQUIRED_COLUMNS
from .parse import RowError
from .services import (
    ImportPreview,
    OrderImportError,
    order_import_confirm,
    order_import_preview,
    orders_csv_check,
)

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportPreview",
    "OrderImportError",
    "RowError",
    "order_import_confirm",
    "order_import_preview",
    "orders_csv_check",
]
