"""Reading an order import CSV into intake bodies, one per reference_id (the layout: columns.py).

This only reads: it turns cells into the intake body's types (rupees into paise, a quantity into
a number, a date into unix seconds) and reports what it cannot read, by line and column. Whether
the orders are valid is the intake's business (orders.intake.order_payloads_check), the same
check as the REST API's.
"""

import csv
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from ..models import CURRENCY_OFFSET
from ..money import parse_rupees
from .columns import (
    ADDRESS_PREFIX,
    COLUMNS,
    ITEM_COLUMNS,
    ORDER_COLUMNS,
    REQUIRED_COLUMNS,
)


@dataclass(frozen=True)
class RowError:
    """One problem: its line in the file (1 is the header), the column ("" for the whole row or
    file), the order's reference_id when known, and a message for the person who fixes it."""

    line: int
    column: str
    message: str
    reference_id: str = ""


@dataclass
class CsvOrder:
    reference_id: str
    lines: list[int] = field(default_factory=list)  # one per item, in the file's order
    values: dict = field(default_factory=dict)  # order column -> its value
    value_lines: dict = field(default_factory=dict)  # order column -> the line it came from
    items: list[dict] = field(default_factory=list)  # item column -> value, per row
    unreadable: set = field(default_factory=set)  # (line, column) already reported
    payload: dict = field(default_factory=dict)

    def line_of(self, column: str) -> int:
        return self.value_lines.get(column, self.lines[0])


@dataclass
class CsvParsed:
    orders: list[CsvOrder]
    errors: list[RowError]
    rows: int = 0


def _file_error(message: str, *, line: int = 1, column: str = "") -> CsvParsed:
    return CsvParsed(orders=[], errors=[RowError(line, column, message)])


def orders_csv_parse(*, text: str, max_rows: int) -> CsvParsed:
    """The orders of a CSV file (its text), their intake bodies built, and every problem of
    reading it. A problem with the file itself (header, size) leaves no orders."""
    reader = csv.reader(text.splitlines(keepends=True) if isinstance(text, str) else text)
    rows, line = [], 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if any(cell.strip() for cell in row):
                rows.append((start, row))
    except csv.Error as error:
        return _file_error(f"The file cannot be read as CSV near line {line + 1}: {error}.")
    if not rows:
        return _file_error("The file is empty: put the header row first, then one row per item.")
    header_line, header_row = rows[0]
    header, problem = _header(header_row)
    if problem:
        return _file_error(problem, line=header_line)
    data = rows[1:]
    if not data:
        return _file_error("The file has a header but no order rows under it.", line=header_line)
    if len(data) > max_rows:
        return _file_error(rows_over_limit(rows=len(data), max_rows=max_rows))
    errors: list[RowError] = []
    orders: dict[str, CsvOrder] = {}
    width = len(header)
    indices = [index for index, _ in header]
    names = [name for _, name in header]
    order_names = [name for name in names if name in ORDER_COLUMNS]
    item_names = [name for name in names if name in ITEM_COLUMNS]
    last = max(indices)
    for line, row in data:
        if len(row) > last + 1 and any(cell.strip() for cell in row[last + 1 :]):
            errors.append(
                RowError(
                    line,
                    "",
                    f"This row has {len(row)} cells but the header names {width} columns.",
                )
            )
            continue
        if len(row) <= last:
            row = row + [""] * (last + 1 - len(row))
        values = dict(zip(names, [row[index].strip() for index in indices], strict=True))
        reference_id = values["reference_id"]
        if not reference_id:
            errors.append(
                RowError(line, "reference_id", "Every row needs the reference_id of its order.")
            )
            continue
        order = orders.get(reference_id)
        if order is None:
            order = orders[reference_id] = CsvOrder(reference_id=reference_id)
        _row_add(order, line, values, order_names, item_names, errors)
    for order in orders.values():
        order.payload = _payload(order, errors)
    return CsvParsed(orders=list(orders.values()), errors=errors, rows=len(data))


def rows_over_limit(*, rows: int, max_rows: int) -> str:
    """The refusal of a file with more order rows than may be imported at once."""
    return (
        f"The file has {rows:,} order rows; at most {max_rows:,} can be imported at once "
        "(split it)."
    )


def _header(row: list[str]) -> tuple[list[tuple[int, str]], str]:
    """[(cell index, column)] of the header row, or the problem with it."""
    names = [cell.strip().lower() for cell in row]
    if len(names) == 1 and ";" in names[0]:
        return [], "The columns are separated by ';': save the file as CSV with commas."
    seen, header = set(), []
    for index, name in enumerate(names):
        if not name:
            continue
        if name not in COLUMNS:
            return [], (
                f"Unknown column '{row[index].strip()}' (column {index + 1}): the columns are "
                "listed on the import page."
            )
        if name in seen:
            return [], f"The column '{name}' appears twice in the header."
        seen.add(name)
        header.append((index, name))
    missing = [column for column in REQUIRED_COLUMNS if column not in seen]
    if missing:
        return [], f"Missing column(s): {', '.join(missing)}."
    return header, ""


def _row_add(
    order: CsvOrder, line: int, values: dict, order_names, item_names, errors: list
) -> None:
    order.lines.append(line)
    for column in order_names:
        value = values[column]
        if not value:
            continue
        if column not in order.values:
            order.values[column] = value
            order.value_lines[column] = line
        elif order.values[column] != value:
            errors.append(
                RowError(
                    line,
                    column,
                    f"Differs from line {order.value_lines[column]} ('{order.values[column]}'): "
                    "an order's columns are the same on each of its rows, or empty after its "
                    "first.",
                    order.reference_id,
                )
            )
            order.unreadable.add((line, column))
    order.items.append({column: values[column] for column in item_names})


def _payload(order: CsvOrder, errors: list) -> dict:
    """The intake body of `order`: what is empty is left out (the intake names what it needs)."""

    def read(column, value, line, reader):
        try:
            return reader(value)
        except ValueError as error:
            errors.append(RowError(line, column, str(error), order.reference_id))
            order.unreadable.add((line, column))
            return None

    values = order.values
    body: dict = {"reference_id": order.reference_id}
    if values.get("type"):
        body["type"] = values["type"]
    body["customer"] = _present(
        name=values.get("customer_name"), phone=values.get("customer_phone")
    )
    body["payment"] = _present(
        method=values.get("payment_method"),
        configuration_name=values.get("payment_configuration"),
    )
    for key in ("shipping", "tax", "discount"):
        amount = None
        if values.get(key):
            amount = read(key, values[key], order.line_of(key), _money)
            if amount is None:
                continue
        description = values.get(f"{key}_description")
        if description:
            amount = {**(amount or _money("0")), "description": description}
        if amount is not None:
            body[key] = amount
    if values.get("expires_at"):
        timestamp = read("expires_at", values["expires_at"], order.line_of("expires_at"), _moment)
        if timestamp is not None:
            body["expiration"] = {"timestamp": timestamp}
    if values.get("header_image"):
        body["header_image"] = {"link": values["header_image"]}
    address = {
        column.removeprefix(ADDRESS_PREFIX): value
        for column, value in values.items()
        if column.startswith(ADDRESS_PREFIX)
    }
    if address:
        body["addresses"] = [address]
    body["items"] = []
    for line, cells in zip(order.lines, order.items, strict=True):
        item = _present(
            name=cells["item_name"],
            retailer_id=cells.get("item_retailer_id"),
            country_of_origin=cells["item_country_of_origin"],
            importer_name=cells["item_importer_name"],
        )
        if cells["item_quantity"]:
            item["quantity"] = read("item_quantity", cells["item_quantity"], line, _quantity)
        for key, column in (("amount", "item_amount"), ("sale_amount", "item_sale_amount")):
            if cells.get(column):
                item[key] = read(column, cells[column], line, _money)
        item["importer_address"] = {
            ITEM_COLUMNS[column].removeprefix("importer_address."): value
            for column, value in cells.items()
            if column.startswith("importer_") and value
        }
        body["items"].append({key: value for key, value in item.items() if value is not None})
    return body


def _present(**values) -> dict:
    return {key: value for key, value in values.items() if value}


def _money(text: str) -> dict:
    return {"value": parse_rupees(text, offset=CURRENCY_OFFSET), "offset": CURRENCY_OFFSET}


def _quantity(text: str) -> int:
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"'{text}' is not a whole number of items, e.g. 2.")
    return int(number)


def _moment(text: str) -> str:
    """'2026-12-31 18:00' (the shop's time zone) or ISO 8601 with its offset -> unix seconds."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a date and time: write e.g. 2026-12-31 18:00 (the shop's time) or "
            "2026-12-31T18:00+05:30."
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return str(int(moment.timestamp()))
