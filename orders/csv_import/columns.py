"""The CSV layout of an order import: one row per order item, its columns and where each lands
in the intake body (orders/intake, WhatsApp's `order_details` shape).

Rows with the same reference_id form one order. The order's columns (ORDER_COLUMNS) are written
on its first row and either repeated on its other rows or left empty there; a different value on
a later row is an error. Amounts are rupees as a shop writes them (`1500.00`, `1,500`); the
intake body gets them in paise with the offset 100.
"""

# column -> path in the intake body (for the errors: a body's path back to its column).
ORDER_COLUMNS = {
    "reference_id": "reference_id",
    "type": "type",
    "customer_name": "customer.name",
    "customer_phone": "customer.phone",
    "payment_method": "payment.method",
    "payment_configuration": "payment.configuration_name",
    "shipping": "shipping.value",
    "tax": "tax.value",
    "tax_description": "tax.description",
    "discount": "discount.value",
    "discount_description": "discount.description",
    "expires_at": "expiration.timestamp",
    "header_image": "header_image.link",
    "address_name": "addresses[0].name",
    "address_phone_number": "addresses[0].phone_number",
    "address_address": "addresses[0].address",
    "address_city": "addresses[0].city",
    "address_state": "addresses[0].state",
    "address_in_pin_code": "addresses[0].in_pin_code",
    "address_house_number": "addresses[0].house_number",
    "address_tower_number": "addresses[0].tower_number",
    "address_floor_number": "addresses[0].floor_number",
    "address_building_name": "addresses[0].building_name",
    "address_landmark_area": "addresses[0].landmark_area",
}
# column -> path inside the row's item (items[i].<path>).
ITEM_COLUMNS = {
    "item_name": "name",
    "item_retailer_id": "retailer_id",
    "item_quantity": "quantity",
    "item_amount": "amount.value",
    "item_sale_amount": "sale_amount.value",
    "item_country_of_origin": "country_of_origin",
    "item_importer_name": "importer_name",
    "importer_address_line1": "importer_address.address_line1",
    "importer_address_line2": "importer_address.address_line2",
    "importer_city": "importer_address.city",
    "importer_zone_code": "importer_address.zone_code",
    "importer_postal_code": "importer_address.postal_code",
    "importer_country_code": "importer_address.country_code",
}
COLUMNS = (*ORDER_COLUMNS, *ITEM_COLUMNS)

# The header must name these; the others may be left out (a column left out is empty).
REQUIRED_COLUMNS = (
    "reference_id",
    "customer_name",
    "customer_phone",
    "payment_method",
    "payment_configuration",
    "item_name",
    "item_quantity",
    "item_amount",
    "item_country_of_origin",
    "item_importer_name",
    "importer_address_line1",
    "importer_city",
    "importer_zone_code",
    "importer_postal_code",
    "importer_country_code",
)

MONEY_COLUMNS = frozenset({"shipping", "tax", "discount", "item_amount", "item_sale_amount"})
ADDRESS_PREFIX = "address_"


def _column_for(path: str, table: dict) -> str | None:
    """The column of `table` whose path is `path`, or lies under it (`shipping` ->
    shipping.value), or contains it."""
    for column, column_path in table.items():
        if column_path == path:
            return column
    for column, column_path in table.items():
        if column_path.startswith((f"{path}.", f"{path}[")):
            return column
    for column, column_path in table.items():
        if path.startswith((f"{column_path}.", f"{column_path}[")):
            return column
    return None


def column_for_order_path(path: str) -> str | None:
    return _column_for(path, ORDER_COLUMNS)


def column_for_item_path(path: str) -> str | None:
    return _column_for(path, ITEM_COLUMNS)
