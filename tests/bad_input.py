"""Helpers for bad-input tests: everything the product stores (to assert that a refused
request changed nothing) and the errors an admin page shows."""

from django.apps import apps

PRODUCT_APPS = ("orders", "coupons", "messaging", "checkout")


def stored_rows() -> dict[str, list[dict]]:
    """Every row of every model of the product's apps, by model label."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for app in PRODUCT_APPS
        for model in apps.get_app_config(app).get_models()
    }


def changed_models(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def admin_page_errors(response) -> dict[str, str]:
    """Every field error on an admin add/change page, by the field's name in the POST (inline
    ones prefixed, e.g. items-0-quantity); '__all__' for the form's own."""
    errors = {k: " ".join(v) for k, v in response.context["adminform"].form.errors.items()}
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            errors.update({form.add_prefix(k): " ".join(v) for k, v in form.errors.items()})
    return errors
