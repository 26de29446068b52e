"""Random and mutated bodies: never a 500, never a change on a refusal."""

import json

from hypothesis import given
from hypothesis import strategies as st

from checkout.crypto import request_encrypt
from config.demo import DEMO_ADDRESS
from tests.checkout.conftest import db_snapshot, exchange_request
from tests.checkout.strategies import FUZZ, check_answer, json_values, mutated


@FUZZ
@given(body=st.binary(max_size=3000))
def test_random_bytes(whatsapp, demo, body):
    before = db_snapshot()
    assert whatsapp.post_body(body).status in (400, 421)
    assert whatsapp.post_body(body, secret=None).status == 432
    assert db_snapshot() == before


@FUZZ
@given(
    envelope=json_values
    | st.dictionaries(
        st.sampled_from(["encrypted_flow_data", "encrypted_aes_key", "initial_vector"]),
        st.text(max_size=400) | json_values,
    )
)
def test_random_envelopes(whatsapp, demo, envelope):
    before = db_snapshot()
    assert whatsapp.post_body(json.dumps(envelope).encode()).status in (400, 421)
    assert db_snapshot() == before


@FUZZ
@given(data=st.data())
def test_mutated_ciphertexts(whatsapp, demo, data):
    import base64

    envelope, _, _ = request_encrypt(exchange_request("get_coupons"), whatsapp.public_key)
    field = data.draw(st.sampled_from(sorted(envelope)))
    raw = bytearray(base64.b64decode(envelope[field]))
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[index] ^= data.draw(st.integers(min_value=1, max_value=255))
    envelope[field] = base64.b64encode(bytes(raw)).decode()
    before = db_snapshot()
    assert whatsapp.post_body(json.dumps(envelope).encode()).status == 421
    assert db_snapshot() == before


@FUZZ
@given(payload=json_values)
def test_random_encrypted_payloads(whatsapp, demo, payload):
    before = db_snapshot()
    assert whatsapp.post(payload).status in (200, 400, 427)
    assert db_snapshot() == before


APPLY_SHIPPING = exchange_request("apply_shipping", selected_address=DEMO_ADDRESS)


@FUZZ
@given(payload=mutated(APPLY_SHIPPING) | mutated({"version": "3.0", "action": "ping"}))
def test_mutated_requests(whatsapp, demo, payload):
    check_answer(whatsapp, payload)
