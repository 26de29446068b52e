"""The issue's sample order body (the reference's order with a new reference id)."""

import copy

from orders.api_schema import SAMPLE_BODY

# The body documented in the API schema (orders.api_schema) is the sample order.
SAMPLE = SAMPLE_BODY


def sample(**changes) -> dict:
    """A deep copy of the sample with top-level keys replaced."""
    body = copy.deepcopy(SAMPLE)
    body.update(changes)
    return body


def three_items(reference_id: str) -> dict:
    """The sample with three items (the benchmark's order)."""
    body = sample(reference_id=reference_id)
    first = body["items"][0]
    body["items"] = [
        first,
        {**copy.deepcopy(first), "name": "Snake Plant", "quantity": 2, "retailer_id": "SP-2"},
        {**copy.deepcopy(first), "name": "Jade Pot", "quantity": 3},
    ]
    return body
