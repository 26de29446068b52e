"""Importing pool codes from files that are wrong in every way an operator's spreadsheet can be:
a clear error on the file field, and not a single code imported."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from common.forms import CSV_MAX_BYTES, CSV_MAX_LINES
from coupons.models import PoolCode
from tests.bad_input import changed_models, stored_rows
from tests.factories import CouponPoolFactory, PoolCodeFactory

pytestmark = pytest.mark.django_db

NOT_UTF8 = ["The file is not UTF-8 text (save it as CSV UTF-8)."]


@pytest.fixture
def pool():
    pool = CouponPoolFactory()
    PoolCodeFactory(pool=pool, code="TAKEN1")
    return pool


def _import(client, pool, content: bytes, name="codes.csv"):
    url = reverse("admin:coupons_couponpool_import", args=[pool.pk])
    before = stored_rows()
    response = client.post(url, {"file": SimpleUploadedFile(name, content)})
    if response.status_code == 200:
        assert changed_models(before, stored_rows()) == []
    return response


def _codes(pool):
    return sorted(pool.codes.values_list("code", flat=True))


@pytest.mark.parametrize(
    ("content", "errors"),
    [
        ("code\nCAFÉ1\n".encode("latin-1"), NOT_UTF8),
        ("code\nAAA1\nBBB2\n".encode("utf-16"), NOT_UTF8),  # with its byte-order mark
        ("AAA1\nBBB2\n".encode("utf-16-le"), NOT_UTF8),  # without
        (bytes(range(256)) * 4, NOT_UTF8),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", NOT_UTF8),
        (b"", ["The submitted file is empty."]),
        (b"code\n\n , \n", ["Nothing was imported.", "The file holds no codes."]),
        (
            b"code\nAAA1\n,BBB2\nCCC3,x,y\n",
            ["Nothing was imported.", "Line 3: the code (first column) is empty."],
        ),
        (
            b"AAA1\nSIXTEEN-CHARS-XX\n",
            ["Nothing was imported.", "Line 2: 'SIXTEEN-CHARS-XX' is longer than 15 characters."],
        ),
        (
            b"AAA1\nBBB2\naaa1\n",
            ["Nothing was imported.", "Line 3: 'AAA1' repeats line 1."],
        ),
        (b"AAA1\ntaken1\n", ["Nothing was imported.", "Line 2: 'TAKEN1' already exists."]),
        (
            b"AAA1\n" + b"X" * 200_000 + b"\n",
            ["Nothing was imported.", "Line 2: field larger than field limit (131072)."],
        ),
        (
            "AAA1\nB\u00e92\n".encode(),
            [
                "Nothing was imported.",
                "Line 2: 'BÉ2' may only hold letters A-Z, digits, '-' and '_'.",
            ],
        ),
    ],
    ids=[
        "latin-1",
        "utf-16-bom",
        "utf-16-no-bom",
        "binary",
        "png",
        "empty",
        "blank-rows",
        "missing-code-column",
        "too-long",
        "duplicate",
        "exists",
        "huge-cell",
        "accent",
    ],
)
def test_a_bad_file_names_the_problem_and_imports_nothing(admin_client, pool, content, errors):
    response = _import(admin_client, pool, content)
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == errors
    assert _codes(pool) == ["TAKEN1"]


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfcode\nAAA1\nBBB2\n",  # Excel's "CSV UTF-8": a byte-order mark
        b"code,note\r\nAAA1,first\r\nBBB2,second,extra\r\n",  # Windows lines, extra columns
        b"AAA1\rBBB2\r",  # old Mac lines
        b'"AAA1"\n  bbb2  \n',
    ],
    ids=["utf-8-bom", "crlf-extra-columns", "cr", "quoted-and-spaced"],
)
def test_good_files_in_any_usual_shape_are_imported(admin_client, pool, content):
    response = _import(admin_client, pool, content)
    assert response.status_code == 302
    assert _codes(pool) == ["AAA1", "BBB2", "TAKEN1"]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (
            lambda: b"code\n" + b"ABCDEFGHJK\n" * (CSV_MAX_BYTES // 11 + 1),
            "The file is larger than 5.0\xa0MB, the most that can be uploaded at once (split it).",
        ),
        (
            lambda: b"\n".join(b"C%07d" % index for index in range(CSV_MAX_LINES + 1)),
            "The file has 100,001 lines; at most 100,000 can be uploaded at once (split it).",
        ),
    ],
    ids=["over-5-MB", "over-100000-lines"],
)
def test_a_file_over_the_limits_is_refused(admin_client, pool, make, error):
    response = _import(admin_client, pool, make())
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [error]
    assert _codes(pool) == ["TAKEN1"]


def test_no_file_at_all(admin_client, pool):
    url = reverse("admin:coupons_couponpool_import", args=[pool.pk])
    response = admin_client.post(url, {})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["This field is required."]
    assert PoolCode.objects.count() == 1
