"""Code pools: generation, CSV import and export, assignment, redemption."""

import csv
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from coupons.errors import CouponError
from coupons.models import CouponRedemption, PoolCode
from coupons.selectors import pool_counts, pool_export_csv
from coupons.services import (
    POOL_CODE_ALPHABET,
    order_apply_coupon,
    pool_code_assign,
    pool_codes_assign,
    pool_codes_generate,
    pool_codes_import_csv,
)
from orders.models import EventSource, OrderStatus
from orders.services import order_status_change
from tests.coupons.conftest import PHONE
from tests.factories import CouponFactory, CouponPoolFactory, PoolCodeFactory

OTHER = "+919812345601"


@pytest.fixture
def pool(db):
    return CouponPoolFactory(coupon=CouponFactory(code="CAMPAIGN", amount_off=5000))


def apply(order, code, phone=PHONE):
    return order_apply_coupon(order=order, code=code, phone=phone, source=EventSource.CHECKOUT)


def messages(caught):
    return caught.value.messages


# --- generation ---------------------------------------------------------------------------


def test_generate_codes_with_prefix_and_length_from_the_unambiguous_alphabet(pool):
    assert pool_codes_generate(pool=pool, count=500, length=6, prefix="diwali-") == 500

    codes = list(pool.codes.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 500
    pattern = re.compile(rf"^DIWALI-[{POOL_CODE_ALPHABET}]{{6}}\Z")
    assert all(pattern.match(code) for code in codes)
    assert not set("0O1IL") & set(POOL_CODE_ALPHABET)


def test_generated_codes_never_repeat_an_existing_pool_or_coupon_code(pool, monkeypatch):
    PoolCodeFactory(code="AAAA")
    CouponFactory(code="BBBB")
    draws = iter([["AAAA", "BBBB"], ["CCCC", "CCCC"], ["BBBB"], ["DDDD"]])
    monkeypatch.setattr("coupons.services.pools._random_codes", lambda **kwargs: next(draws))

    pool_codes_generate(pool=pool, count=2, length=4)

    assert sorted(pool.codes.values_list("code", flat=True)) == ["CCCC", "DDDD"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"count": 0}, "Generate between 1 and 100,000 codes at a time."),
        (
            {"count": 10, "prefix": "A B"},
            "The prefix may only hold letters A-Z, digits, '-' and '_'.",
        ),
        ({"count": 10, "length": 3}, "Codes need at least 4 random characters."),
        (
            {"count": 10, "length": 10, "prefix": "SUMMER"},
            "Prefix and random part together may be at most 15 characters "
            "(WhatsApp's copy-code button).",
        ),
        (
            {"count": 5000, "length": 4},
            "4 random characters are too few for 5,000 unique codes; choose a longer length.",
        ),
    ],
)
def test_generate_refuses_bad_settings(pool, fields, error):
    with pytest.raises(ValidationError) as caught:
        pool_codes_generate(pool=pool, **fields)
    assert error in messages(caught)
    assert not PoolCode.objects.exists()


def test_a_coupon_code_cannot_repeat_a_pool_code(pool):
    PoolCodeFactory(pool=pool, code="TAKEN1")
    coupon = CouponFactory.build(code="taken1", public_id="x")
    with pytest.raises(ValidationError) as caught:
        coupon.full_clean()
    assert caught.value.message_dict["code"] == ["This code is already one of a pool's codes."]


# --- CSV import ---------------------------------------------------------------------------


def test_import_csv_with_a_header_normalises_codes(pool):
    data = b"\xef\xbb\xbfcode,note\n  abc-123 ,first\nXYZ_9\n\n"
    assert pool_codes_import_csv(pool=pool, file=io.BytesIO(data)) == 2
    assert sorted(pool.codes.values_list("code", flat=True)) == ["ABC-123", "XYZ_9"]


def test_import_csv_without_header_from_text(pool):
    assert pool_codes_import_csv(pool=pool, file=io.StringIO("AAA111\nBBB222\n")) == 2


def test_import_reports_every_bad_row_and_imports_nothing(pool):
    PoolCodeFactory(code="EXISTS1")
    CouponFactory(code="COUPON1")
    data = "\n".join(
        [
            "code",  # 1 header
            "GOOD1",  # 2
            ",x",  # 3 empty code
            "HAS SPACE",  # 4
            "WAY-TOO-LONG-CODE-X",  # 5
            "good1",  # 6 repeats line 2
            "EXISTS1",  # 7
            "coupon1",  # 8
            "GOOD2",  # 9
        ]
    )
    with pytest.raises(ValidationError) as caught:
        pool_codes_import_csv(pool=pool, file=io.StringIO(data))

    assert messages(caught) == [
        "Nothing was imported.",
        "Line 3: the code (first column) is empty.",
        "Line 4: 'HAS SPACE' may only hold letters A-Z, digits, '-' and '_'.",
        "Line 5: 'WAY-TOO-LONG-CODE-X' is longer than 15 characters.",
        "Line 6: 'GOOD1' repeats line 2.",
        "Line 7: 'EXISTS1' already exists.",
        "Line 8: 'COUPON1' already exists.",
    ]
    assert not pool.codes.exists()


def test_import_of_an_empty_file(pool):
    with pytest.raises(ValidationError) as caught:
        pool_codes_import_csv(pool=pool, file=io.BytesIO(b"code\n"))
    assert messages(caught) == ["Nothing was imported.", "The file holds no codes."]


def test_import_of_a_file_that_is_not_utf8(pool):
    with pytest.raises(ValidationError) as caught:
        pool_codes_import_csv(pool=pool, file=io.BytesIO(b"\xff\xfe\x00A"))
    assert messages(caught) == ["The file is not UTF-8 text (save it as CSV UTF-8)."]


# --- assignment ---------------------------------------------------------------------------


def test_assign_gives_the_next_free_code_and_the_same_one_again(pool):
    PoolCodeFactory(pool=pool, code="CODE1")
    PoolCodeFactory(pool=pool, code="CODE2")

    assert pool_code_assign(coupon=pool.coupon, phone="919000090000") == "CODE1"
    assert pool_code_assign(coupon=pool.coupon, phone=OTHER) == "CODE2"
    assert pool_code_assign(coupon=pool.coupon, phone="+919000090000") == "CODE1"
    code = PoolCode.objects.get(code="CODE1")
    assert str(code.phone) == PHONE
    assert code.assigned_at is not None


def test_assign_from_an_empty_pool(pool):
    PoolCodeFactory(pool=pool, code="CODE1")
    pool_code_assign(coupon=pool.coupon, phone=PHONE)

    with pytest.raises(CouponError) as caught:
        pool_code_assign(coupon=pool.coupon, phone=OTHER)
    assert (caught.value.code, caught.value.message) == (
        "pool_exhausted",
        "No codes are left in this coupon's pool",
    )


def test_a_coupon_without_pool_hands_out_its_own_code(db):
    coupon = CouponFactory(code="EVERYONE")
    assert pool_code_assign(coupon=coupon, phone=PHONE) == "EVERYONE"
    assert pool_codes_assign(coupon=coupon, phones=[PHONE, OTHER]) == {
        PHONE: "EVERYONE",
        OTHER: "EVERYONE",
    }


def test_bulk_assign_keeps_held_codes_and_hands_out_new_ones(pool):
    for n in range(4):
        PoolCodeFactory(pool=pool, code=f"CODE{n}")
    pool_code_assign(coupon=pool.coupon, phone=OTHER)  # CODE0

    assert pool_codes_assign(coupon=pool.coupon, phones=["919000090000", OTHER, PHONE]) == {
        PHONE: "CODE1",
        OTHER: "CODE0",
    }


def test_bulk_assign_is_all_or_nothing(pool):
    PoolCodeFactory(pool=pool, code="CODE1")
    with pytest.raises(CouponError) as caught:
        pool_codes_assign(coupon=pool.coupon, phones=[PHONE, OTHER])
    assert caught.value.code == "pool_exhausted"
    assert str(caught.value) == "The pool of CAMPAIGN has 1 free codes left; 2 are needed"
    assert not PoolCode.objects.filter(phone__isnull=False).exists()


# --- redemption and export ----------------------------------------------------------------


def test_a_customer_redeems_their_own_pool_code_once(pool, make_order):
    pool.coupon.per_customer_limit = None
    pool.coupon.save()
    PoolCodeFactory(pool=pool, code="MINE1")
    pool_code_assign(coupon=pool.coupon, phone=PHONE)
    first = make_order()

    applied = apply(first, "mine1")

    assert (applied.coupon_code, applied.coupon_discount) == ("MINE1", 5000)
    assert CouponRedemption.objects.get().pool_code.code == "MINE1"
    with pytest.raises(CouponError) as caught:
        apply(make_order(), "MINE1")
    assert caught.value.code == "already_used"


def test_a_released_pool_code_can_be_used_again(pool, make_order):
    PoolCodeFactory(pool=pool, code="MINE1")
    pool_code_assign(coupon=pool.coupon, phone=PHONE)
    first = make_order()
    apply(first, "MINE1")
    order_status_change(order=first, status=OrderStatus.CANCELED, source=EventSource.ADMIN)

    assert apply(make_order(), "MINE1").coupon_code == "MINE1"


@pytest.mark.parametrize("holder", [OTHER, None])
def test_a_pool_code_is_only_for_the_phone_it_was_sent_to(pool, order, holder):
    PoolCodeFactory(pool=pool, code="THEIRS1")
    if holder:
        pool_code_assign(coupon=pool.coupon, phone=holder)

    with pytest.raises(CouponError) as caught:
        apply(order, "THEIRS1")
    assert (caught.value.code, caught.value.message) == (
        "not_for_you",
        "This code is not valid for your number",
    )


def test_the_coupon_of_a_pool_cannot_be_used_by_its_own_code(pool, order):
    with pytest.raises(CouponError) as caught:
        apply(order, "CAMPAIGN")
    assert caught.value.code == "not_found"


def test_export_csv(pool, make_order):
    for code in ["SENT1", "OPEN1", "DONE1", "FREE1"]:
        PoolCodeFactory(pool=pool, code=code)
    pool.coupon.per_customer_limit = None
    pool.coupon.save()
    phones = {"SENT1": "+919812345602", "OPEN1": "+919812345603", "DONE1": "+919812345604"}
    assert pool_codes_assign(coupon=pool.coupon, phones=phones.values()) == {
        phone: code for code, phone in phones.items()
    }
    open_order = make_order(reference_id="OPEN-ORDER")
    apply(open_order, "OPEN1", phone=phones["OPEN1"])
    done_order = make_order(reference_id="DONE-ORDER")
    apply(done_order, "DONE1", phone=phones["DONE1"])
    order_status_change(order=done_order, status=OrderStatus.COMPLETED, source=EventSource.ADMIN)

    out = io.StringIO()
    pool_export_csv(pool=pool, out=out)

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["code", "assigned_phone", "assigned_at", "redeemed_order", "status"]
    assigned_at = PoolCode.objects.get(code="SENT1").assigned_at
    assert rows[1][2] == timezone.localtime(assigned_at).isoformat()
    assert [[r[0], r[1], r[3], r[4]] for r in rows[1:]] == [
        ["SENT1", "+919812345602", "", "assigned"],
        ["OPEN1", "+919812345603", "OPEN-ORDER", "reserved"],
        ["DONE1", "+919812345604", "DONE-ORDER", "redeemed"],
        ["FREE1", "", "", "free"],
    ]
    assert rows[4][2] == ""
    assert pool_counts(pool=pool) == {"total": 4, "assigned": 3, "free": 1, "redeemed": 2}
