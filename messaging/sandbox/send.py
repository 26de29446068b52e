"""The sandbox's send API (POST /v2/<sid>/whatsapp/<number>/messages): Kaleyra's error bodies,
the strict check of the three message shapes (validate_body; `require` raises PayloadError with
the reason), and what an accepted message becomes (SendApi, a part of KaleyraSandbox)."""

import base64
import json
import re
import time
import uuid

# Kaleyra's documented error bodies (kaleyra-send-*.txt), with their HTTP status.
ERRORS = {
    "RBC001": (
        401,
        {
            "code": "RBC001",
            "message": "Incorrect SID or API key.",
            "data": [],
            "error": {"error": "Incorrect SID or API key."},
        },
    ),
    "WA401": (
        401,
        {
            "code": "WA401",
            "message": "Phone number is not present or does not belong to the account.",
            "data": {},
            "error": {
                "phone_number": "Phone number is not present or does not belong to the account."
            },
        },
    ),
    "WA400": (
        400,
        {
            "code": "WA400",
            "message": "Refer to correct payload format",
            "data": {},
            "error": {"payload": "Incorrect payload format"},
        },
    ),
    "WA500": (
        500,
        {
            "code": "WA500",
            "message": "Please try again later",
            "data": {},
            "error": {"error": "Internal server error"},
        },
    ),
    "E110": (
        400,
        {
            "code": "E110",
            "message": "Please check your balance, You have a low balance!",
            "data": {},
            "error": {"balance": "Please check your balance, You have a low balance!"},
        },
    ),
    # Not in the pages (see the reference README); the body follows the documented pattern.
    "WAV2101": (
        400,
        {
            "code": "WAV2101",
            "message": "Account daily limit reached",
            "data": {},
            "error": {"account": "Account daily limit reached"},
        },
    ),
}
ORDER_STATUSES = {"processing", "partially_shipped", "shipped", "completed", "canceled"}
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
REFERENCE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,35}$")


class PayloadError(ValueError):
    pass


def require(condition, reason):
    if not condition:
        raise PayloadError(reason)


def _money(value, where):
    require(isinstance(value, dict), f"{where} must be an object")
    require(value.get("offset") == 100, f"{where}.offset must be 100")
    require(
        isinstance(value.get("value"), int) and value["value"] >= 0,
        f"{where}.value must be a non-negative integer",
    )
    return value["value"]


def validate_body(body) -> str:
    """The message kind (order_details, order_status, coupon_code) of a valid body, or
    PayloadError naming the first problem."""
    require(isinstance(body, dict), "the body must be a JSON object")
    require(not set(body) - {"messaging_object", "extra_info"}, "unknown top-level field")
    mo = body.get("messaging_object")
    require(isinstance(mo, dict), "messaging_object is missing")
    require(mo.get("messaging_product") == "whatsapp", "messaging_product must be whatsapp")
    if "recipient_type" in mo:
        require(mo["recipient_type"] == "individual", "recipient_type must be individual")
    require(isinstance(mo.get("to"), str) and E164.match(mo["to"]), "to must be E.164 with +")
    require(mo.get("type") == "template", "type must be template")
    template = mo.get("template")
    require(isinstance(template, dict), "template is missing")
    name = template.get("name")
    require(isinstance(name, str) and 0 < len(name) <= 512, "template.name: 1 to 512 characters")
    language = template.get("language")
    require(isinstance(language, dict), "template.language is missing")
    require(isinstance(language.get("code"), str) and language["code"], "language.code missing")
    if "policy" in language:
        require(language["policy"] == "deterministic", "language.policy must be deterministic")
    components = template.get("components")
    require(isinstance(components, list) and components, "template.components must be a list")
    kind = None
    for component in components:
        require(isinstance(component, dict), "each component must be an object")
        ctype = component.get("type")
        if ctype == "header":
            params = component.get("parameters")
            require(isinstance(params, list) and len(params) == 1, "header.parameters: one item")
            image = params[0].get("image") if isinstance(params[0], dict) else None
            require(params[0].get("type") == "image", "header parameter type must be image")
            require(isinstance(image, dict) and isinstance(image.get("link"), str), "image.link")
        elif ctype == "order_status":
            require(kind is None, "more than one message component")
            kind = "order_status"
            _order_status_check(component)
        elif ctype == "button":
            require(kind is None, "more than one message component")
            require(isinstance(component.get("index"), int), "button.index must be a number")
            sub_type = component.get("sub_type")
            if sub_type == "order_details":
                kind = "order_details"
                _order_details_check(component, mo)
            elif sub_type == "COPY_CODE":
                kind = "coupon_code"
                params = component.get("parameters")
                require(isinstance(params, list) and len(params) == 1, "COPY_CODE: one parameter")
                require(
                    params[0].get("type") == "coupon_code", "parameter type must be coupon_code"
                )
                code = params[0].get("coupon_code")
                require(isinstance(code, str) and code, "coupon_code must be a non-empty string")
            else:
                raise PayloadError(f"unsupported button sub_type {sub_type!r}")
        else:
            raise PayloadError(f"unsupported component type {ctype!r}")
    require(kind is not None, "no order_details, order_status or COPY_CODE component")
    if kind != "coupon_code":
        require(language.get("policy") == "deterministic", "language.policy must be deterministic")
    extra = body.get("extra_info", {})
    require(isinstance(extra, dict), "extra_info must be an object")
    require(not set(extra) - {"ref", "ref1", "ref2", "wa_source"}, "unknown extra_info field")
    for key, value in extra.items():
        require(isinstance(value, str), f"extra_info.{key} must be a string")
    return kind


def _order_status_check(component):
    params = component.get("parameters")
    require(isinstance(params, list) and len(params) == 1, "order_status.parameters: one item")
    param = params[0]
    require(isinstance(param, dict) and param.get("type") == "order_status", "type order_status")
    status = param.get("order_status")
    require(isinstance(status, dict), "order_status object missing")
    require(isinstance(status.get("reference_id"), str) and status["reference_id"], "reference_id")
    order = status.get("order")
    require(isinstance(order, dict), "order_status.order missing")
    require(order.get("status") in ORDER_STATUSES, "order.status is not a supported status")
    if "description" in order:
        description = order["description"]
        require(isinstance(description, str) and len(description) <= 120, "description > 120")


def _order_details_check(component, mo):
    require(mo.get("recipient_type", "individual") == "individual", "recipient_type individual")
    params = component.get("parameters")
    require(isinstance(params, list) and len(params) == 1, "order_details: one parameter")
    param = params[0]
    require(isinstance(param, dict) and param.get("type") == "action", "parameter type action")
    action = param.get("action")
    require(isinstance(action, dict), "action missing")
    details = action.get("order_details")
    require(isinstance(details, dict), "action.order_details missing")
    require(REFERENCE_ID.match(str(details.get("reference_id", ""))), "reference_id invalid")
    require(details.get("type") in {"digital-goods", "physical-goods"}, "order_details.type")
    require(details.get("currency") == "INR", "currency must be INR")
    if "payment_settings" in details:
        settings_ = details["payment_settings"]
        require(isinstance(settings_, list) and settings_, "payment_settings must be a list")
        for item in settings_:
            gateway = item.get("payment_gateway") if isinstance(item, dict) else None
            require(item.get("type") == "payment_gateway", "payment_settings type")
            require(isinstance(gateway, dict) and gateway.get("type"), "payment_gateway.type")
            require(gateway.get("configuration_name"), "payment_gateway.configuration_name")
    else:
        require(details.get("payment_type") == "upi", "payment_type must be upi")
        require(details.get("payment_configuration"), "payment_configuration missing")
    if details["type"] == "physical-goods":
        info = details.get("shipping_info")
        require(isinstance(info, dict) and info.get("country") == "IN", "shipping_info.country IN")
        require(isinstance(info.get("addresses"), list), "shipping_info.addresses must be a list")
    order = details.get("order")
    require(isinstance(order, dict), "order missing")
    require(order.get("status") == "pending", "order.status must be pending")
    items = order.get("items")
    require(isinstance(items, list) and items, "order.items must be a non-empty list")
    subtotal = 0
    for item in items:
        require(isinstance(item, dict) and isinstance(item.get("name"), str), "item.name")
        quantity = item.get("quantity")
        require(isinstance(quantity, int) and 1 <= quantity <= 100, "item.quantity 1-100")
        price = _money(item.get("amount"), "item.amount")
        if "sale_amount" in item:
            price = _money(item["sale_amount"], "item.sale_amount")
        subtotal += price * quantity
    require(_money(order.get("subtotal"), "order.subtotal") == subtotal, "subtotal != items")
    total = subtotal
    for key in ("shipping", "tax"):
        if key in order:
            total += _money(order[key], f"order.{key}")
    if "discount" in order:
        total -= _money(order["discount"], "order.discount")
    if "coupon" in details:
        total -= _money(details["coupon"].get("discount"), "coupon.discount")
    if "expiration" in order:
        stamp = order["expiration"].get("timestamp") if isinstance(order["expiration"], dict) else 0
        require(str(stamp).isdigit(), "expiration.timestamp must be unix seconds")
        require(int(stamp) >= time.time() + 300, "expiration must be at least 300 s ahead")
    require(_money(details.get("total_amount"), "total_amount") == total, "total_amount is wrong")


class SendApi:
    """KaleyraSandbox's send API (its state lives in KaleyraSandbox)."""

    def handle_send(self, *, sid, number, headers, raw: bytes):
        """(status, body dict or text, fault) for one send request; `fault` is what the
        handler must still do (slow / timeout / drop / drop_after_accept) or None."""
        config = self.config
        with self.lock:
            self.requests += 1
            fault = self.forced.pop(0) if self.forced else None
            if fault is None and config.fail_rate and self.random.random() < config.fail_rate:
                fault = self.random.choice(config.faults)
        if sid != config.sid or headers.get("api-key") != config.api_key:
            return *ERRORS["RBC001"], None
        if number != config.number:
            return *ERRORS["WA401"], None
        if fault == "5xx":
            return *ERRORS["WA500"], None
        if fault == "502":
            return 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", None
        if fault == "429":
            return 429, {"code": "429", "message": "Too Many Requests", "data": {}}, None
        if fault == "drop":
            return None, None, "drop"
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            require(content_type == "application/json", "Content-Type must be application/json")
            body = json.loads(raw)
            kind = validate_body(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return *ERRORS["WA400"], f"reason:{exc}"
        if config.e110 or fault == "e110":
            return *ERRORS["E110"], None
        if config.wav2101:
            return *ERRORS["WAV2101"], None
        message_id = self.accept(body, kind)
        answer = {
            "code": "WA202",
            "message": "Request Accepted",
            "data": {"message_id": message_id},
            "error": {},
        }
        return 202, answer, fault

    def accept(self, body, kind) -> str:
        message_id = f"SBX{uuid.uuid4().hex}"
        mo = body["messaging_object"]
        extra = {
            key: str(value)[:255]
            for key, value in body.get("extra_info", {}).items()
            if key in ("ref", "ref1", "ref2")
        }
        record = {
            "message_id": message_id,
            "wamid": f"wamid.{base64.b64encode(uuid.uuid4().bytes).decode()}",
            "to": mo["to"],
            "kind": kind,
            "ref": extra.get("ref", ""),
            "ref1": extra.get("ref1", ""),
            "ref2": extra.get("ref2", ""),
            "accepted_at": time.time(),
            "body": body,
        }
        with self.lock:
            self.messages.append(record)
        if self.config.callback_url:
            self._callback_queue.put(record)
        return message_id

    def messages_report(self, *, bodies=True) -> dict:
        with self.lock:
            messages = list(self.messages)
        seen, duplicates = {}, []
        for message in messages:
            key = json.dumps(message["body"], sort_keys=True)
            if key in seen:
                duplicates.append(message["message_id"])
            seen[key] = True
        if not bodies:
            messages = [{k: v for k, v in m.items() if k != "body"} for m in messages]
        return {
            "count": len(messages),
            "requests": self.requests,
            "duplicates": duplicates,
            "messages": messages,
        }
