"""/api/v1/: sending (checkout and status messages to an order, a coupon code to numbers)
through the admin's own forms and queueing services, and read-only messages and batches."""

from django.conf import settings
from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from common.api import ApiError
from common.api.schema import INVALID, NOT_FOUND, error, responses
from common.api.views import ApiView
from common.phones import phone_e164
from coupons.models import Coupon
from orders.api import order_for_api
from orders.choices import EventSource

from .forms import CouponCodeForm, OrderDetailsForm, OrderStatusForm
from .models import MessageKind, MessageStatus, SendBatch, SentMessage
from .services.pipeline import template_default
from .services.queueing import coupon_code_send, order_details_send, order_status_send

# --- schema ----------------------------------------------------------------------------------


class RefusalSchema(serializers.Serializer):
    target = serializers.CharField(help_text="The order's reference_id or the phone number.")
    code = serializers.CharField()
    reason = serializers.CharField()


class BatchSchema(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=MessageKind.values)
    template_name = serializers.CharField(allow_blank=True)
    language = serializers.CharField(allow_blank=True)
    requested = serializers.IntegerField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Messages by status."
    )
    refused = RefusalSchema(many=True)
    created_at = serializers.DateTimeField()


class BatchPageSchema(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BatchSchema(many=True)


class MessageSchema(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=MessageKind.values)
    recipient = serializers.CharField()
    order = serializers.CharField(allow_null=True, help_text="The order's reference_id.")
    coupon = serializers.CharField(allow_null=True, help_text="The coupon's code.")
    template_name = serializers.CharField()
    language = serializers.CharField()
    ref = serializers.CharField(allow_blank=True)
    ref1 = serializers.CharField(allow_blank=True)
    ref2 = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=MessageStatus.values)
    error_code = serializers.CharField(allow_blank=True)
    error_message = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MessagePageSchema(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MessageSchema(many=True)


class _SendOptionsSchema(serializers.Serializer):
    template_name = serializers.CharField(required=False, max_length=512)
    language = serializers.CharField(required=False, max_length=16)
    batch_name = serializers.CharField(required=False, max_length=255)
    ref = serializers.CharField(required=False)
    ref1 = serializers.CharField(required=False)
    ref2 = serializers.CharField(required=False)
    wa_source = serializers.CharField(required=False)


class SendCheckoutSchema(_SendOptionsSchema):
    header_image_url = serializers.URLField(required=False, max_length=1024)


class SendStatusSchema(_SendOptionsSchema):
    status = serializers.CharField(help_text="processing, partially_shipped, shipped, ...")
    description = serializers.CharField(required=False)


class SendCouponSchema(_SendOptionsSchema):
    recipients = serializers.ListField(child=serializers.CharField(), min_length=1)


SEND_RESPONSES = responses(
    {201: BatchSchema},
    INVALID,
    NOT_FOUND,
    {409: error("Nothing was queued: details give each refusal's reason.")},
)

# --- answers ---------------------------------------------------------------------------------


def _time(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def batches_as_payloads(batches) -> list[dict]:
    batches = list(batches)
    counts: dict = {}
    rows = (
        SentMessage.objects.filter(batch__in=batches)
        .values_list("batch_id", "status")
        .annotate(n=Count("id"))
    )
    for batch_id, status, n in rows:
        counts.setdefault(batch_id, {})[status] = n
    return [
        {
            "id": batch.pk,
            "name": batch.name,
            "kind": batch.kind,
            "template_name": batch.template_name,
            "language": batch.language,
            "requested": batch.requested,
            "counts": {s: counts.get(batch.pk, {}).get(s, 0) for s in MessageStatus.values},
            "refused": [
                {"target": str(r["target"]), "code": r["code"], "reason": r["reason"]}
                for r in batch.refused
            ],
            "created_at": _time(batch.created_at),
        }
        for batch in batches
    ]


def message_as_payload(message) -> dict:
    return {
        "id": message.pk,
        "batch": message.batch_id,
        "kind": message.kind,
        "recipient": str(message.recipient),
        "order": message.order.reference_id if message.order_id else None,
        "coupon": message.coupon.code if message.coupon_id else None,
        "template_name": message.template_name,
        "language": message.language,
        "ref": message.ref,
        "ref1": message.ref1,
        "ref2": message.ref2,
        "status": message.status,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "attempts": message.attempts,
        "created_at": _time(message.created_at),
        "updated_at": _time(message.updated_at),
    }


# --- sending ---------------------------------------------------------------------------------


def _form(form_class, request, **extra):
    """The admin's send form over the JSON body (template and language defaulted)."""
    data = request.data
    if not isinstance(data, dict):
        raise ApiError(
            "Send a JSON object.",
            code="invalid",
            status_code=400,
            details=[{"field": "body", "code": "invalid_type", "message": "Send a JSON object."}],
        )
    values = {
        "template_name": template_default(form_class.kind),
        "language": settings.KALEYRA_TEMPLATE_LANGUAGE,
        **{k: v for k, v in data.items() if k in form_class.base_fields and k != "recipients_file"},
        **extra,
    }
    problems = [
        {"field": field, "code": "invalid_type", "message": "Send a string here."}
        for field, value in values.items()
        if not isinstance(value, str)
    ]
    unknown = [k for k in data if k not in form_class.base_fields or k == "recipients_file"]
    problems += [
        {"field": k, "code": "unknown_field", "message": f"'{k}' is not a field of this request."}
        for k in unknown
        if k not in extra
    ]
    if problems:
        raise ApiError(
            "The request is not valid: see details.",
            code="invalid",
            status_code=400,
            details=problems,
        )
    form = form_class(data=values)
    if not form.is_valid():
        raise ApiError(
            "The request is not valid: see details.",
            code="invalid",
            status_code=400,
            details=[
                {
                    "field": field if field != "__all__" else "body",
                    "code": e.code or "invalid",
                    "message": " ".join(e.messages),
                }
                for field, errors in form.errors.as_data().items()
                for e in errors
            ],
        )
    return form


def _queued(result) -> Response:
    if result.batch is None:
        raise ApiError(
            "Nothing was queued: see details.",
            code="refused",
            status_code=409,
            details=[
                {"field": str(r.target), "code": r.code, "message": r.reason}
                for r in result.refused
            ],
        )
    return Response(batches_as_payloads([result.batch])[0], status=201)


class SendCheckoutView(ApiView):
    required_scope = "send"
    scopes_by_method = {}

    @extend_schema(
        operation_id="orders_send_checkout", request=SendCheckoutSchema, responses=SEND_RESPONSES
    )
    def post(self, request, reference_id):
        return self.post_idempotent(request, self._send, reference_id)

    def _send(self, request, reference_id):
        order = order_for_api(reference_id, prefetch=False)
        form = _form(OrderDetailsForm, request)
        return _queued(
            order_details_send(orders=[order], source=EventSource.API, **form.service_kwargs())
        )


class SendStatusView(ApiView):
    required_scope = "send"
    scopes_by_method = {}

    @extend_schema(
        operation_id="orders_send_status", request=SendStatusSchema, responses=SEND_RESPONSES
    )
    def post(self, request, reference_id):
        return self.post_idempotent(request, self._send, reference_id)

    def _send(self, request, reference_id):
        order = order_for_api(reference_id, prefetch=False)
        form = _form(OrderStatusForm, request)
        return _queued(
            order_status_send(orders=[order], source=EventSource.API, **form.service_kwargs())
        )


class SendCouponView(ApiView):
    required_scope = "send"
    scopes_by_method = {}

    @extend_schema(operation_id="coupons_send", request=SendCouponSchema, responses=SEND_RESPONSES)
    def post(self, request, code):
        return self.post_idempotent(request, self._send, code)

    def _send(self, request, code):
        coupon = Coupon.objects.filter(code=code).first()
        if coupon is None:
            raise ApiError(f"No coupon has the code {code}.", code="not_found", status_code=404)
        recipients = request.data.get("recipients") if isinstance(request.data, dict) else None
        if (
            not isinstance(recipients, list)
            or not recipients
            or not all(isinstance(r, str) for r in recipients)
        ):
            raise ApiError(
                "The request is not valid: see details.",
                code="invalid",
                status_code=400,
                details=[
                    {
                        "field": "recipients",
                        "code": "invalid",
                        "message": "Send a list of at least one phone number (strings).",
                    }
                ],
            )
        form = _form(CouponCodeForm, request, recipients="\n".join(recipients))
        return _queued(
            coupon_code_send(coupon=coupon, recipients=recipients, **form.service_kwargs())
        )


# --- reading ---------------------------------------------------------------------------------


def _bad_filter(field, message):
    return ApiError(
        f"{field}: {message}",
        code="invalid",
        status_code=400,
        details=[{"field": field, "code": "invalid", "message": message}],
    )


MESSAGE_FILTERS = [
    OpenApiParameter("order", str, description="The order's reference_id."),
    OpenApiParameter("phone", str, description="The recipient's number."),
    OpenApiParameter("ref", str, description="ref, ref1 or ref2 equal to this."),
    OpenApiParameter("status", str, enum=MessageStatus.values),
    OpenApiParameter("batch", int, description="The batch's id."),
    OpenApiParameter("cursor", str, description="From a page's next or previous link."),
    OpenApiParameter("page_size", int, description="Messages per page (1-500)."),
]


def _messages_filter(params, queryset):
    from django.db.models import Q

    if "order" in params:
        queryset = queryset.filter(order__reference_id=params["order"])
    if "phone" in params:
        phone = phone_e164(params["phone"])
        if phone is None:
            raise _bad_filter("phone", "Not a valid phone number.")
        queryset = queryset.filter(recipient=phone)
    if "ref" in params:
        ref = params["ref"]
        queryset = queryset.filter(Q(ref=ref) | Q(ref1=ref) | Q(ref2=ref))
    if "status" in params:
        if params["status"] not in MessageStatus.values:
            raise _bad_filter("status", f"Use one of: {', '.join(MessageStatus.values)}.")
        queryset = queryset.filter(status=params["status"])
    if "batch" in params:
        if not params["batch"].isdigit():
            raise _bad_filter("batch", "Use a batch id (a number).")
        queryset = queryset.filter(batch_id=int(params["batch"]))
    return queryset


class MessageListView(ApiView):
    @extend_schema(
        operation_id="messages_list",
        parameters=MESSAGE_FILTERS,
        responses=responses({200: MessagePageSchema}, INVALID),
    )
    def get(self, request):
        queryset = _messages_filter(request.query_params, SentMessage.objects.all())
        queryset = queryset.select_related("order", "coupon")
        page = self.paginator.paginate_queryset(queryset, request, view=self)
        return self.paginator.get_paginated_response([message_as_payload(m) for m in page])


class MessageDetailView(ApiView):
    @extend_schema(
        operation_id="messages_retrieve", responses=responses({200: MessageSchema}, NOT_FOUND)
    )
    def get(self, request, pk):
        message = SentMessage.objects.select_related("order", "coupon").filter(pk=pk).first()
        if message is None:
            raise ApiError(f"No message has the id {pk}.", code="not_found", status_code=404)
        return Response(message_as_payload(message))


BATCH_FILTERS = [
    OpenApiParameter("order", str, description="Batches with a message to this order."),
    OpenApiParameter("phone", str, description="Batches with a message to this number."),
    OpenApiParameter("ref", str, description="Batches with a message of this ref, ref1 or ref2."),
    OpenApiParameter(
        "status",
        str,
        enum=MessageStatus.values,
        description="Batches with a message in this status.",
    ),
    OpenApiParameter("kind", str, enum=MessageKind.values),
    OpenApiParameter("cursor", str, description="From a page's next or previous link."),
    OpenApiParameter("page_size", int, description="Batches per page (1-500)."),
]


class BatchListView(ApiView):
    @extend_schema(
        operation_id="batches_list",
        parameters=BATCH_FILTERS,
        responses=responses({200: BatchPageSchema}, INVALID),
    )
    def get(self, request):
        params = request.query_params
        queryset = SendBatch.objects.all()
        if "kind" in params:
            if params["kind"] not in MessageKind.values:
                raise _bad_filter("kind", f"Use one of: {', '.join(MessageKind.values)}.")
            queryset = queryset.filter(kind=params["kind"])
        message_params = {k: params[k] for k in ("order", "phone", "ref", "status") if k in params}
        if message_params:
            messages = _messages_filter(message_params, SentMessage.objects.all())
            queryset = queryset.filter(pk__in=messages.values("batch_id"))
        page = self.paginator.paginate_queryset(queryset, request, view=self)
        return self.paginator.get_paginated_response(batches_as_payloads(page))


class BatchDetailView(ApiView):
    @extend_schema(
        operation_id="batches_retrieve", responses=responses({200: BatchSchema}, NOT_FOUND)
    )
    def get(self, request, pk):
        batch = SendBatch.objects.filter(pk=pk).first()
        if batch is None:
            raise ApiError(f"No batch has the id {pk}.", code="not_found", status_code=404)
        return Response(batches_as_payloads([batch])[0])
