"""/api/v1/orders/: create, list, retrieve, update while pending, cancel. Thin: the bodies are
read and written by orders.intake, status moves by orders.services."""

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from common.api import ApiError
from common.api.schema import INVALID, NOT_FOUND, error, responses
from common.api.views import ApiView
from common.phones import phone_e164

from .api_schema import EXAMPLES, OrderBodySchema, OrderPageSchema, OrderSchema, OrderUpdateSchema
from .choices import EventSource, OrderStatus
from .intake import (
    order_as_payload,
    order_create_from_payload,
    order_update_from_payload,
    orders_as_payloads,
)
from .models import Order
from .services import order_status_change

LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=OrderStatus.values, description="The order's status."),
    OpenApiParameter("created_since", str, description="ISO 8601 time: created at or after."),
    OpenApiParameter("updated_since", str, description="ISO 8601 time: changed at or after."),
    OpenApiParameter("phone", str, description="The customer's number (any usual spelling)."),
    OpenApiParameter("cursor", str, description="From a page's next or previous link."),
    OpenApiParameter("page_size", int, description="Orders per page (1-500)."),
]

# name -> (apply(queryset, value) -> queryset, its schema parameter): filters the apps above
# add to the order list (checkout: payment_status), registered in their AppConfig.ready().
_LIST_FILTERS: dict = {}


def order_list_filter_register(*, name: str, apply, parameter: OpenApiParameter) -> None:
    """Have `?name=value` filter the order list through `apply(queryset=, value=)`, which
    raises ValueError with a message for a value it does not take. Registering `name` again
    (a second AppConfig.ready()) replaces it: the schema documents each parameter once."""
    _LIST_FILTERS[name] = (apply, parameter)
    # The list's documented parameters; an OpenApiParameter made anew is another object.
    LIST_PARAMETERS[:] = [p for p in LIST_PARAMETERS if p.name != parameter.name]
    LIST_PARAMETERS.append(parameter)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        f"{field}: {message}",
        code="invalid",
        status_code=400,
        details=[{"field": field, "code": "invalid", "message": message}],
    )


def order_for_api(reference_id: str, *, prefetch=True) -> Order:
    """The order with this reference_id (its own, as sent when created), or a 404."""
    queryset = Order.objects.all()
    if prefetch:
        queryset = queryset.prefetch_related("items", "addresses", "references")
    order = queryset.filter(reference_id=reference_id).first()
    if order is None:
        raise ApiError(
            f"No order has the reference_id {reference_id}.", code="not_found", status_code=404
        )
    return order


def _since(request, name):
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise _invalid(name, "Use an ISO 8601 time with its zone, e.g. 2026-12-01T00:00:00Z.")
    return value


def orders_filter(request, queryset):
    params = request.query_params
    if "status" in params:
        if params["status"] not in OrderStatus.values:
            raise _invalid("status", f"Use one of: {', '.join(OrderStatus.values)}.")
        queryset = queryset.filter(status=params["status"])
    if (since := _since(request, "created_since")) is not None:
        queryset = queryset.filter(created_at__gte=since)
    if (since := _since(request, "updated_since")) is not None:
        queryset = queryset.filter(updated_at__gte=since)
    if "phone" in params:
        phone = phone_e164(params["phone"])
        if phone is None:
            raise _invalid("phone", "Not a valid phone number.")
        queryset = queryset.filter(customer_phone=phone)
    for name, (apply, _) in _LIST_FILTERS.items():
        if name in params:
            try:
                queryset = apply(queryset=queryset, value=params[name])
            except ValueError as problem:
                raise _invalid(name, str(problem)) from None
    return queryset


class OrderListView(ApiView):
    scopes_by_method = {"GET": "read", "POST": "write"}

    @extend_schema(
        operation_id="orders_list",
        parameters=LIST_PARAMETERS,
        responses=responses({200: OrderPageSchema}, INVALID),
    )
    def get(self, request):
        queryset = orders_filter(request, Order.objects.all())
        queryset = queryset.prefetch_related("items", "addresses", "references")
        paginator = self.paginator
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(orders_as_payloads(page))

    @extend_schema(
        operation_id="orders_create",
        request=OrderBodySchema,
        responses=responses(
            {201: OrderSchema, 200: OrderSchema},
            INVALID,
            {409: error("The reference_id is taken by an order with another body.")},
        ),
        examples=EXAMPLES,
        description="Creates the order (201). The same reference_id with the same body again "
        "answers 200 with the stored order; with another body 409 naming the fields that "
        "differ. With an Idempotency-Key header, a repeat gets the first answer.",
    )
    def post(self, request):
        return self.post_idempotent(request, self._create)

    def _create(self, request):
        order, created = order_create_from_payload(data=request.data, source=EventSource.API)
        if not created:
            order = order_for_api(order.reference_id)
        return Response(
            order_as_payload(order, new=created),
            status=status.HTTP_201_CREATED if created else 200,
        )


def _update_schema(operation_id: str, description: str):
    return extend_schema(
        operation_id=operation_id,
        request=OrderUpdateSchema,
        responses=responses(
            {200: OrderSchema}, INVALID, NOT_FOUND, {409: error("The order is no longer pending.")}
        ),
        description=description,
    )


class OrderDetailView(ApiView):
    scopes_by_method = {"GET": "read", "PUT": "write", "PATCH": "write"}

    @extend_schema(
        operation_id="orders_retrieve", responses=responses({200: OrderSchema}, NOT_FOUND)
    )
    def get(self, request, reference_id):
        return Response(order_as_payload(order_for_api(reference_id)))

    @_update_schema("orders_update", "Replaces the order's body (only while it is pending).")
    def put(self, request, reference_id):
        return self._update(request, reference_id, partial=False)

    @_update_schema(
        "orders_partial_update",
        "Replaces the top-level fields sent (only while the order is pending).",
    )
    def patch(self, request, reference_id):
        return self._update(request, reference_id, partial=True)

    def _update(self, request, reference_id, *, partial):
        order = order_for_api(reference_id, prefetch=False)
        order_update_from_payload(
            order=order, data=request.data, source=EventSource.API, partial=partial
        )
        return Response(order_as_payload(order_for_api(reference_id)))


class OrderCancelView(ApiView):
    scopes_by_method = {"POST": "write"}

    @extend_schema(
        operation_id="orders_cancel",
        request=None,
        responses=responses(
            {200: OrderSchema},
            NOT_FOUND,
            {409: error("The order cannot be canceled (final, or a payment holds it).")},
        ),
    )
    def post(self, request, reference_id):
        return self.post_idempotent(request, self._cancel, reference_id)

    def _cancel(self, request, reference_id):
        order = order_for_api(reference_id, prefetch=False)
        order_status_change(
            order=order, status=OrderStatus.CANCELED, source=EventSource.API, note="API"
        )
        return Response(order_as_payload(order_for_api(reference_id)))
