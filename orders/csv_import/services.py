"""Importing orders from a CSV file: check it (a preview that stores nothing but the file), then
create every order in one transaction, or none.

The orders are checked by the intake (orders.intake), the REST API's own check: each problem it
names by its path in the body (`items[1].quantity`) is shown at the line and column it came
from. A reference_id already stored with the same order is skipped (the intake's retry rule);
with a different order it is an error on its lines naming what differs.
"""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..choices import EventSource
from ..errors import OrderError, OrderInputError
from ..intake import order_payloads_checked, orders_create_checked
from ..models import OrderImport, OrderItem
from ..money import order_totals
from .columns import (
    COLUMNS,
    MONEY_COLUMNS,
    column_for_item_path,
    column_for_order_path,
)
from .parse import CsvOrder, CsvParsed, RowError, orders_csv_parse, rows_over_limit
from .retention import order_import_expired
from .selectors import references_stored

PREVIEW_ORDERS_SHOWN = 500  # orders listed on the preview page (all are counted)


class OrderImportError(OrderError):
    """An import refused as a whole: `details` are the RowErrors when the file has problems."""

    code = "import_refused"
    default_message = "The file cannot be imported."


@dataclass(frozen=True)
class PreviewOrder:
    reference_id: str
    line: int
    customer_name: str
    items: int
    total: int | None  # paise; None when the order has errors
    exists: bool  # stored already with the same body: skipped


@dataclass
class ImportPreview:
    orders: list[PreviewOrder]
    errors: list[RowError]
    rows: int

    @property
    def new(self) -> list[PreviewOrder]:
        return [o for o in self.orders if o.total is not None and not o.exists]

    @property
    def existing(self) -> list[PreviewOrder]:
        return [o for o in self.orders if o.exists]

    @property
    def total(self) -> int:
        return sum(o.total for o in self.new)

    @property
    def items(self) -> int:
        return sum(o.items for o in self.new)


def _parsed(text: str) -> CsvParsed:
    return orders_csv_parse(text=text, max_rows=settings.ORDER_IMPORT_MAX_ROWS)


def orders_csv_check(*, text: str) -> ImportPreview:
    """What importing `text` would do, and every problem by line and column; writes nothing."""
    return _check(text)[0]


def _check(text: str) -> tuple[ImportPreview, list[dict]]:
    """(the preview, the canonical forms of the file's orders: whole when it has no error)."""
    parsed = _parsed(text)
    errors = list(parsed.errors)
    canonicals, problems = order_payloads_checked(payloads=[o.payload for o in parsed.orders])
    for order, found in zip(parsed.orders, problems, strict=True):
        errors += _row_errors(order, found)
    stored = references_stored(reference_ids=[o.reference_id for o in parsed.orders])
    bad = {error.reference_id for error in errors if error.reference_id}
    orders = [
        PreviewOrder(
            reference_id=order.reference_id,
            line=order.lines[0],
            customer_name=order.values.get("customer_name", ""),
            items=len(order.lines),
            total=None if order.reference_id in bad else _total(order.payload),
            exists=order.reference_id in stored and order.reference_id not in bad,
        )
        for order in parsed.orders
    ]
    return ImportPreview(orders=orders, errors=_sorted(errors), rows=parsed.rows), canonicals


class _Priced:
    """An order or item of a body as order_totals reads it (the item priced by OrderItem's own
    unit_price): 10,000 orders are totalled without building model instances."""

    unit_price = OrderItem.unit_price

    def __init__(self, **values):
        self.__dict__.update(values)


def _total(payload: dict) -> int:
    """What the order adds up to, by the one computation of totals (orders.money)."""
    order = _Priced(
        coupon_discount=0, **{key: payload.get(key, {}).get("value", 0) for key in _AMOUNTS}
    )
    items = [
        _Priced(
            quantity=item["quantity"],
            amount=item["amount"]["value"],
            sale_amount=item.get("sale_amount", {}).get("value"),
        )
        for item in payload["items"]
    ]
    return order_totals(order, items=items).total


_AMOUNTS = ("shipping", "tax", "discount")


def _sorted(errors: list[RowError]) -> list[RowError]:
    position = {column: index for index, column in enumerate(COLUMNS)}
    return sorted(errors, key=lambda e: (e.line, position.get(e.column, -1)))


def _row_errors(order: CsvOrder, problems: list[dict]) -> list[RowError]:
    """The intake's problems with `order`'s body at the lines and columns they came from (a
    problem with a cell already reported as unreadable is left out)."""
    errors = []
    for problem in problems:
        line, column = _where(order, problem["field"])
        if (line, column) in order.unreadable:
            continue
        message = problem["message"]
        if column in MONEY_COLUMNS and problem["code"] == "out_of_range":
            message = "The price must be more than 0.00."
        errors.append(RowError(line, column or "", message, order.reference_id))
    return errors


def _where(order: CsvOrder, path: str) -> tuple[int, str | None]:
    if path.startswith("items["):
        index_text, _, rest = path[len("items[") :].partition("]")
        index = int(index_text)
        line = order.lines[index] if index < len(order.lines) else order.lines[0]
        return line, column_for_item_path(rest.removeprefix("."))
    column = column_for_order_path(path)
    if path == "items":
        column = "item_name"
    return order.line_of(column) if column else order.lines[0], column


def order_import_preview(*, text: str, file_name: str, user) -> tuple[ImportPreview, OrderImport]:
    """Check the file; when it has no problem and new orders, keep it for the confirmation
    (OrderImport, returned; None otherwise). No order is written."""
    preview, canonicals = _check(text)
    if preview.errors or not preview.new:
        return preview, None
    order_import = OrderImport.objects.create(
        file_name=file_name[:255],
        content=text,
        checked=json.dumps(canonicals, separators=(",", ":")),
        rows=preview.rows,
        orders_new=len(preview.new),
        orders_existing=len(preview.existing),
        created_by=user,
    )
    return preview, order_import


def order_import_confirm(*, order_import_id: int, user) -> OrderImport:
    """Create the orders of a previewed file, all in one transaction, or none. What can have
    changed since the preview is checked again: the row limit, each expiration still ahead,
    the reference_ids against the database (taken meanwhile by the API or another import); the
    file is not read and checked again, its orders are the preview's (OrderImport.checked).
    Raises OrderImportError (its `details` the RowErrors when the orders no longer pass)."""
    with transaction.atomic():
        order_import = OrderImport.objects.select_for_update().filter(pk=order_import_id).first()
        if order_import is None or order_import.created_by_id != user.pk:
            raise OrderImportError(
                "This import is not known: upload the file again.", code="not_found"
            )
        if order_import.status == OrderImport.Status.IMPORTED:
            raise OrderImportError(
                f"{order_import.file_name} was imported already.", code="already_imported"
            )
        if order_import_expired(order_import):
            raise OrderImportError(
                f"The preview of {order_import.file_name} has expired (previews are kept "
                f"{settings.ORDER_IMPORT_PREVIEW_TTL / 3600:g} h): upload the file again.",
                code="expired",
            )
        if order_import.checked:
            if order_import.rows > settings.ORDER_IMPORT_MAX_ROWS:  # lowered since the preview
                message = rows_over_limit(
                    rows=order_import.rows, max_rows=settings.ORDER_IMPORT_MAX_ROWS
                )
                raise OrderImportError(details=[RowError(1, "", message)])
            parsed, checked = None, {"canonicals": json.loads(order_import.checked)}
        else:  # kept before the preview's check was kept with it: the file is read again
            parsed = _parsed(order_import.content)
            if parsed.errors:  # the limits changed since the preview
                raise OrderImportError(details=_sorted(parsed.errors))
            checked = {"payloads": [o.payload for o in parsed.orders]}
        try:
            results = orders_create_checked(**checked, source=EventSource.ADMIN, actor=user)
        except OrderInputError as error:
            # Where each problem is in the file: read again, only to say so.
            parsed = parsed or _parsed(order_import.content)
            raise OrderImportError(details=_details_as_rows(parsed, error.details)) from None
        except IntegrityError:
            raise OrderImportError(
                "Some of these orders were created meanwhile (another import or the API): "
                "upload the file again to see them.",
                code="conflict",
            ) from None
        order_import.status = OrderImport.Status.IMPORTED
        order_import.imported_at = timezone.now()
        order_import.orders_new = sum(1 for _, created in results if created)
        order_import.orders_existing = len(results) - order_import.orders_new
        order_import.content = ""  # the file and its check were kept for this confirmation only
        order_import.checked = ""
        order_import.save(
            update_fields=[
                *("status", "imported_at", "orders_new", "orders_existing"),
                *("content", "checked"),
            ]
        )
    return order_import


def _details_as_rows(parsed: CsvParsed, details: list[dict]) -> list[RowError]:
    by_index: dict[int, list[dict]] = {}
    for detail in details:
        by_index.setdefault(detail["index"], []).append(detail)
    errors = []
    for index, found in by_index.items():
        errors += _row_errors(parsed.orders[index], found)
    return _sorted(errors)
