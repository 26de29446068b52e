"""Reading an order body shaped like WhatsApp's `order_details` into its canonical form.

`payload_parse` checks everything and collects every problem, each named by its path exactly as
sent (`items[0].quantity`), so a client fixes them all at once. Lengths, formats and choices are
the models' own (their fields' max_length, validators and choices), read from the models.

The canonical form is the body with defaults filled in, phones in E.164, empty optional values
left out: two bodies meaning the same order have equal canonical forms, and `order_canonical`
(payload.py) gives the same form for a stored order, so a retry can be compared with it.
"""

import functools
import re
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator

from common.phones import phone_e164, phone_number_of_e164

from ..choices import OrderType, PaymentMethod
from ..models import CURRENCY, CURRENCY_OFFSET, Order, OrderAddress, OrderItem
from ..money import order_totals

MAX_MINOR = 10**14  # paise: far above any order, inside a 64-bit column
MAX_TIMESTAMP = 253402300799  # 9999-12-31: later is not a date
ITEMS_MAX = 999  # far above a WhatsApp order; keeps one body's work bounded
ORDER_TYPES = tuple(OrderType.values)
PAYMENT_METHODS = tuple(PaymentMethod.values)

# Accepted beside the fields below because a shop's order_details may carry them; checked
# against what the order adds up to when sent.
COMPUTED_FIELDS = ("subtotal", "total_amount")


class Problems:
    """Every problem of one body: {"field", "code", "message"} in the order found."""

    def __init__(self):
        self.details: list[dict] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.details.append({"field": field, "code": code, "message": message})

    def __bool__(self):
        return bool(self.details)


def _path(parent: str, key) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _object(value, path, problems, *, allowed) -> dict | None:
    if not isinstance(value, dict):
        problems.add(path or "body", "invalid_type", "Send a JSON object here.")
        return None
    for key in value:
        if key not in allowed:
            problems.add(
                _path(path, key), "unknown_field", f"'{key}' is not a field of this object."
            )
    return value


def _missing(value) -> bool:
    return value is None or value == ""


def _text(
    obj,
    key,
    path,
    problems,
    *,
    model=None,
    field=None,
    required=True,
    max_length=None,
    validators=(),
    choices=None,
) -> str | None:
    """A string field; length, blank-ness and validators from `model`'s `field` when given."""
    if model is not None:
        field_max_length, field_validators, field_required = _field_rules(model, field or key)
        max_length = max_length or field_max_length
        validators = (*field_validators, *validators)
        required = required and field_required
    value = obj.get(key)
    if value and isinstance(value, str) and _plain_valid(value, max_length, choices, validators):
        return value
    where = _path(path, key)
    if _missing(value):
        if required:
            problems.add(where, "required", "This field is required.")
        return None
    if not isinstance(value, str):
        problems.add(where, "invalid_type", "Send a string here.")
        return None
    if not value.strip():
        if required:
            problems.add(where, "required", "This field is required.")
        return None
    if "\x00" in value:
        problems.add(where, "invalid", "Remove the NUL character.")
        return None
    if max_length and len(value) > max_length:
        problems.add(where, "max_length", f"Use at most {max_length} characters.")
        return None
    if choices is not None and value not in choices:
        problems.add(where, "invalid_choice", f"Use one of: {', '.join(choices)}.")
        return None
    for validator in validators:
        if getattr(validator, "code", None) in ("max_length", "limit_value"):
            continue  # checked above with its own message
        try:
            validator(value)
        except ValidationError as error:
            problems.add(where, error.code or "invalid", " ".join(error.messages))
            return None
    return value


def _plain_valid(value: str, max_length, choices, validators) -> bool:
    """The common case, decided quickly: a value that passes every check (anything else goes
    through the checks one by one, for their messages)."""
    if not value.strip() or "\x00" in value:
        return False
    if max_length and len(value) > max_length:
        return False
    if choices is not None and value not in choices:
        return False
    for validator in validators:
        if getattr(validator, "code", None) in ("max_length", "limit_value"):
            continue
        quick = getattr(validator, "passes", None)
        if quick is None or not quick(value):
            return False
    return True


class _QuickRegex:
    """A model field's RegexValidator with `passes(value)` (its compiled pattern at hand, not
    behind Django's lazy object); calling it is calling the validator (its error as it is)."""

    def __init__(self, validator):
        self.validator = validator
        self.code = validator.code
        self._search = re.compile(validator.regex.pattern, validator.regex.flags).search
        self._inverse = validator.inverse_match

    def passes(self, value) -> bool:
        return bool(self._search(str(value))) != self._inverse

    def __call__(self, value):
        self.validator(value)


@functools.cache
def _field_rules(model, name) -> tuple:
    """(max_length, validators, required) of a model's field, read once (bodies come by the
    thousand from the CSV import)."""
    model_field = model._meta.get_field(name)
    validators = tuple(
        _QuickRegex(v) if type(v) is RegexValidator else v for v in model_field.validators
    )
    return model_field.max_length, validators, not model_field.blank


def _integer(obj, key, path, problems, *, minimum, maximum, required=True) -> int | None:
    value = obj.get(key)
    if type(value) is int and minimum <= value <= maximum:
        return value
    where = _path(path, key)
    if value is None:
        if required:
            problems.add(where, "required", "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, "invalid_type", "Send a whole number here.")
        return None
    if not minimum <= value <= maximum:
        problems.add(where, "out_of_range", f"Use a number from {minimum} to {maximum}.")
        return None
    return value


def _money(obj, key, path, problems, *, required, minimum=0, description_max=None) -> dict | None:
    """WhatsApp's amount object {"value", "offset"(, "description")}: integer minor units, the
    offset that of the currency (100 for INR)."""
    where = _path(path, key)
    value = obj.get(key)
    if value is None:
        if required:
            problems.add(where, "required", "This field is required.")
        return None
    allowed = ("value", "offset", "description") if description_max else ("value", "offset")
    amount = _object(value, where, problems, allowed=allowed)
    if amount is None:
        return None
    minor = _integer(amount, "value", where, problems, minimum=minimum, maximum=MAX_MINOR)
    offset = _integer(amount, "offset", where, problems, minimum=1, maximum=MAX_MINOR)
    if offset is not None and offset != CURRENCY_OFFSET:
        problems.add(
            _path(where, "offset"),
            "invalid_offset",
            f"Use {CURRENCY_OFFSET}: {CURRENCY} amounts are in paise (value x {CURRENCY_OFFSET}).",
        )
    description = None
    if description_max:
        description = _text(
            amount, "description", where, problems, required=False, max_length=description_max
        )
    if minor is None or offset != CURRENCY_OFFSET:
        return None
    parsed = {"value": minor, "offset": offset}
    if description:
        parsed["description"] = description
    return parsed


ORDER_FIELDS = (
    "reference_id",
    "type",
    "currency",
    "customer",
    "payment",
    "items",
    "shipping",
    "tax",
    "discount",
    "addresses",
    "expiration",
    "header_image",
    "status",
    *COMPUTED_FIELDS,
)
ITEM_FIELDS = (
    "name",
    "retailer_id",
    "quantity",
    "amount",
    "sale_amount",
    "country_of_origin",
    "importer_name",
    "importer_address",
)
# WhatsApp's importer_address names -> OrderItem fields.
IMPORTER_FIELDS = {
    "address_line1": "importer_address_line1",
    "address_line2": "importer_address_line2",
    "city": "importer_city",
    "zone_code": "importer_zone_code",
    "postal_code": "importer_postal_code",
    "country_code": "importer_country_code",
}
ADDRESS_FIELDS = tuple(
    f.name for f in OrderAddress._meta.concrete_fields if f.name not in ("id", "order")
)


def payload_parse(data, *, now: datetime | None = None, check_expiry=True) -> tuple[dict, list]:
    """(canonical form, problems). The canonical form is only whole when there is no problem.
    `check_expiry`: the expiration must lie ahead of `now` (a new or changed expiry)."""
    problems = Problems()
    body = _object(data, "", problems, allowed=ORDER_FIELDS)
    if body is None:
        return {}, problems.details
    order = {}
    order["reference_id"] = _text(body, "reference_id", "", problems, model=Order)
    order["type"] = (
        _text(body, "type", "", problems, required=False, choices=ORDER_TYPES) or OrderType.PHYSICAL
    )
    currency = body.get("currency")
    if currency is not None and currency != CURRENCY:
        problems.add("currency", "invalid_choice", f"Use {CURRENCY}.")
    status = body.get("status")
    if status is not None and status != "pending":
        problems.add("status", "invalid_choice", 'An order comes in pending: send "pending".')
    order["customer"] = _customer(body, problems)
    order["payment"] = _payment(body, problems)
    order["items"] = _items(body, problems)
    for key, description_max in (("shipping", None), ("tax", 60), ("discount", 60)):
        order[key] = _money(
            body, key, "", problems, required=False, description_max=description_max
        ) or {"value": 0, "offset": CURRENCY_OFFSET}
    order["addresses"] = _addresses(body, problems)
    expiration = _expiration(body, problems, now=now, check=check_expiry)
    if expiration:
        order["expiration"] = expiration
    header = _header_image(body, problems)
    if header:
        order["header_image"] = header
    if not problems:
        _computed_check(body, order, problems)
    return order, problems.details


def _required_object(parent, key, path, problems, *, allowed) -> dict | None:
    where = _path(path, key)
    value = parent.get(key)
    if value is None:
        problems.add(where, "required", "This field is required.")
        return None
    return _object(value, where, problems, allowed=allowed)


def _customer(body, problems) -> dict | None:
    customer = _required_object(body, "customer", "", problems, allowed=("name", "phone"))
    if customer is None:
        return None
    name = _text(customer, "name", "customer", problems, model=Order, field="customer_name")
    phone = None
    raw = customer.get("phone")
    if _missing(raw):
        problems.add("customer.phone", "required", "This field is required.")
    elif not isinstance(raw, str | int) or isinstance(raw, bool):
        problems.add("customer.phone", "invalid_type", "Send the number as a string.")
    else:
        phone = phone_e164(raw)
        if phone is None:
            problems.add(
                "customer.phone",
                "invalid_phone",
                f"'{raw}' is not a valid WhatsApp number: use E.164, e.g. +919000090000.",
            )
    return {"name": name, "phone": phone}


def _payment(body, problems) -> dict | None:
    payment = _required_object(
        body, "payment", "", problems, allowed=("method", "configuration_name")
    )
    if payment is None:
        return None
    method = _text(payment, "method", "payment", problems, choices=PAYMENT_METHODS)
    name = _text(
        payment,
        "configuration_name",
        "payment",
        problems,
        model=Order,
        field="payment_configuration",
    )
    return {"method": method, "configuration_name": name}


def _items(body, problems) -> list:
    items = body.get("items")
    if not isinstance(items, list) or not items:
        code = "required" if items is None or items == [] else "invalid_type"
        problems.add("items", code, "Send a list of at least one item.")
        return []
    if len(items) > ITEMS_MAX:
        problems.add("items", "too_many", f"Send at most {ITEMS_MAX} items.")
        return []
    parsed = []
    for index, raw in enumerate(items):
        path = _path("items", index)
        item = _object(raw, path, problems, allowed=ITEM_FIELDS)
        if item is None:
            continue
        limits = _quantity_limits()
        entry = {
            "name": _text(item, "name", path, problems, model=OrderItem),
            "retailer_id": _text(item, "retailer_id", path, problems, model=OrderItem),
            "quantity": _integer(
                item,
                "quantity",
                path,
                problems,
                minimum=limits["MinValueValidator"],
                maximum=limits["MaxValueValidator"],
            ),
            "amount": _money(item, "amount", path, problems, required=True, minimum=1),
            "sale_amount": _money(item, "sale_amount", path, problems, required=False),
            "country_of_origin": _text(item, "country_of_origin", path, problems, model=OrderItem),
            "importer_name": _text(item, "importer_name", path, problems, model=OrderItem),
            "importer_address": _importer(item, path, problems),
        }
        if entry["amount"] and entry["sale_amount"]:
            if entry["sale_amount"]["value"] > entry["amount"]["value"]:
                problems.add(
                    _path(path, "sale_amount.value"),
                    "above_amount",
                    "The sale price cannot be higher than the price.",
                )
        parsed.append({key: value for key, value in entry.items() if value is not None})
    return parsed


@functools.cache
def _quantity_limits() -> dict:
    quantity_field = OrderItem._meta.get_field("quantity")
    return {type(v).__name__: v.limit_value for v in quantity_field.validators}


def _importer(item, path, problems) -> dict | None:
    where = _path(path, "importer_address")
    address = _required_object(
        item, "importer_address", path, problems, allowed=tuple(IMPORTER_FIELDS)
    )
    if address is None:
        return None
    parsed = {}
    for key, field in IMPORTER_FIELDS.items():
        value = _text(address, key, where, problems, model=OrderItem, field=field)
        if value is not None:
            parsed[key] = value
    return parsed


def _addresses(body, problems) -> list:
    addresses = body.get("addresses")
    if addresses is None:
        return []
    if not isinstance(addresses, list):
        problems.add("addresses", "invalid_type", "Send a list of addresses.")
        return []
    parsed = []
    for index, raw in enumerate(addresses):
        path = _path("addresses", index)
        address = _object(raw, path, problems, allowed=ADDRESS_FIELDS)
        if address is None:
            continue
        entry = {}
        for key in ADDRESS_FIELDS:
            value = _text(address, key, path, problems, model=OrderAddress)
            if value is not None:
                entry[key] = value
        parsed.append(entry)
    return parsed


def _expiration(body, problems, *, now, check) -> dict | None:
    raw = body.get("expiration")
    if raw is None:
        return None
    expiration = _object(raw, "expiration", problems, allowed=("timestamp", "description"))
    if expiration is None:
        return None
    value = expiration.get("timestamp")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(
            "expiration.timestamp", "invalid_type", 'Send unix seconds, e.g. "1767225600".'
        )
        return None
    if not 0 < value <= MAX_TIMESTAMP:
        problems.add("expiration.timestamp", "out_of_range", "Send unix seconds of a real date.")
        return None
    description = expiration.get("description")
    if description is not None:
        problems.add(
            "expiration.description", "unknown_field", "Only expiration.timestamp is kept."
        )
    if check and _expiry_passed(value, now):
        problems.add(*EXPIRY_IN_PAST)
        return None
    return {"timestamp": str(value)}


EXPIRY_IN_PAST = ("expiration.timestamp", "in_past", "The expiration must be in the future.")


def _expiry_passed(timestamp: int, now: datetime | None) -> bool:
    return timestamp <= (now or datetime.now(UTC)).timestamp()


def canonical_expiry_problems(canonical: dict, *, now: datetime | None = None) -> list[dict]:
    """The one check of a canonical form that time can fail: its expiration is still ahead of
    `now` (payload_parse's problem when it is not)."""
    expiration = canonical.get("expiration")
    if expiration and _expiry_passed(int(expiration["timestamp"]), now):
        field, code, message = EXPIRY_IN_PAST
        return [{"field": field, "code": code, "message": message}]
    return []


_validate_url = URLValidator(schemes=["https"])


def _header_image(body, problems) -> dict | None:
    raw = body.get("header_image")
    if raw is None:
        return None
    header = _object(raw, "header_image", problems, allowed=("link",))
    if header is None:
        return None
    link = _text(
        header,
        "link",
        "header_image",
        problems,
        model=Order,
        field="header_image_url",
        required=True,
    )
    if link is None:
        return None
    try:
        _validate_url(link)
    except ValidationError:
        problems.add("header_image.link", "invalid_url", "Send an https:// link to the image.")
        return None
    return {"link": link}


def _computed_check(body, order, problems) -> None:
    """A `subtotal` or `total_amount` sent must be what the order adds up to."""
    if not any(key in body for key in COMPUTED_FIELDS):
        return
    totals = order_totals(
        order_from_canonical(order), items=[item_from_canonical(i) for i in order["items"]]
    )
    for key, computed in (("subtotal", totals.subtotal), ("total_amount", totals.total)):
        if key not in body:
            continue
        sent = _money(body, key, "", problems, required=True)
        if sent is not None and sent["value"] != computed:
            problems.add(
                f"{key}.value",
                "mismatch",
                f"The order adds up to {computed} (offset {CURRENCY_OFFSET}), not {sent['value']}.",
            )


# --- canonical form -> unsaved model instances --------------------------------------------


def order_from_canonical(order: dict, *, instance: Order | None = None) -> Order:
    """The order's own fields (items and addresses apart) set on `instance` or a new Order."""
    target = instance or Order()
    target.reference_id = order["reference_id"]
    target.type = order["type"]
    target.customer_name = order["customer"]["name"]
    target.customer_phone = phone_number_of_e164(order["customer"]["phone"])
    target.payment_method = order["payment"]["method"]
    target.payment_configuration = order["payment"]["configuration_name"]
    target.shipping = order["shipping"]["value"]
    target.tax = order["tax"]["value"]
    target.tax_description = order["tax"].get("description", "")
    target.discount = order["discount"]["value"]
    target.discount_description = order["discount"].get("description", "")
    expiration = order.get("expiration")
    target.expires_at = (
        datetime.fromtimestamp(int(expiration["timestamp"]), tz=UTC) if expiration else None
    )
    target.header_image_url = order.get("header_image", {}).get("link", "")
    return target


def item_from_canonical(item: dict, *, order: Order | None = None) -> OrderItem:
    importer = item["importer_address"]
    return OrderItem(
        order=order,
        name=item["name"],
        retailer_id=item.get("retailer_id", ""),
        quantity=item["quantity"],
        amount=item["amount"]["value"],
        sale_amount=item["sale_amount"]["value"] if "sale_amount" in item else None,
        country_of_origin=item["country_of_origin"],
        importer_name=item["importer_name"],
        **{field: importer.get(key, "") for key, field in IMPORTER_FIELDS.items()},
    )


def address_from_canonical(address: dict, *, order: Order | None = None) -> OrderAddress:
    return OrderAddress(order=order, **{key: address.get(key, "") for key in ADDRESS_FIELDS})
