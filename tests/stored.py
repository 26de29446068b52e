"""Everything the product stores, for asserting that a refused request changed nothing."""

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
