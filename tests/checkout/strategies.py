"""Hypothesis strategies (random JSON, valid checkout requests with parts replaced or cut), the
fuzz settings, and the invariant every fuzzed answer must keep."""

import copy

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from orders.models import Order
from orders.serializers import order_details_build
from tests.checkout.conftest import db_snapshot

NASTY_TEXT = st.sampled_from(
    ["", " ", "\x00", "\ud800", "0" * 5000, "abc.123_xyz-1", "919000090000", "400051", "TRYNEW10"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | NASTY_TEXT
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw, base: dict):
    """`base` with one to three of its parts replaced by random JSON or removed."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()):
            parent[path[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    return payload


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_answer(whatsapp, payload):
    """A refusal changes nothing; an accepted request answers what is now stored."""
    before = db_snapshot()
    reply = whatsapp.post(payload)
    assert reply.status in (200, 400, 427)
    if reply.status != 200:
        assert db_snapshot() == before
        assert set(reply.data) == {"error_msg"}
    elif "order_details" in reply.data.get("data", {}):
        details = reply.data["data"]["order_details"]
        order = Order.objects.get(reference_id="abc.123_xyz-1")
        assert details == order_details_build(
            order, reference_id=details["reference_id"], include_payment=False
        )
