from ..models import Order


def references_stored(*, reference_ids: list[str]) -> set[str]:
    """Which of `reference_ids` are stored orders' (in chunks: one query per 5,000)."""
    stored: set[str] = set()
    for start in range(0, len(reference_ids), 5000):
        chunk = reference_ids[start : start + 5000]
        stored.update(
            Order.objects.filter(reference_id__in=chunk).values_list("reference_id", flat=True)
        )
    return stored
