from .models import Order, OrderReference


def order_get_by_reference(*, reference_id: str, for_update: bool = False) -> Order | None:
    """The order a checkout reference_id points to: its own, or one issued for a resend."""
    queryset = Order.objects.select_for_update() if for_update else Order.objects.all()
    order = queryset.filter(reference_id=reference_id).first()
    if order is None:
        order_id = (
            OrderReference.objects.filter(reference_id=reference_id)
            .values_list("order_id", flat=True)
            .first()
        )
        if order_id is not None:
            order = queryset.filter(pk=order_id).first()
    return order


def order_reference_latest(*, order: Order) -> OrderReference | None:
    """The reference issued for the order's latest checkout message (None before the first)."""
    return order.references.order_by("-sequence").first()
