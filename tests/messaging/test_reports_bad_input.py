"""Report filters and batch pages under any query string or id: never a 500."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import SendBatchFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DATES = st.sampled_from(
    ["0001-01-01", "0001-01-03", "9999-12-31", "9999-12-28", "2026-02-30", "yesterday", ""]
) | st.dates().map(str)
NUMBERS = st.sampled_from(
    ["0", "-1", "1.5", "abc", "9" * 30, "", "2147483648"]
) | st.integers().map(str)
PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "date_from": DATES,
        "date_to": DATES,
        "kind": st.sampled_from(["coupon_code", "nope", ""]),
        "template": st.text(max_size=600),
        "batch": NUMBERS,
        "group_by": st.sampled_from(["ref", "ref1", "ref2", "id", ""]),
        "page": NUMBERS,
        "format": st.sampled_from(["csv", "json", ""]),
    },
)


@pytest.fixture
def boss(admin_client):
    return admin_client


@FUZZ
@given(url=st.sampled_from(["/admin/reports/delivery/", "/admin/reports/refs/"]), params=PARAMS)
def test_report_filters(boss, url, params):
    response = boss.get(url, params)
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("object_id", ["abc", "-1", "9" * 30, "1.5", "0", "%00", "1/2"])
@pytest.mark.parametrize("page", ["progress/", "change/"])
def test_batch_pages_with_a_wrong_id(boss, object_id, page):
    SendBatchFactory()
    response = boss.get(f"/admin/messaging/sendbatch/{object_id}/{page}")
    assert response.status_code in (302, 404)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"date_from": "0001-01-01"}, "greater than or equal to 2000-01-01"),
        ({"date_to": "0001-01-03"}, "greater than or equal to 2000-01-01"),
        ({"date_from": "9999-12-31"}, "less than or equal to 2100-12-31"),
        ({"batch": "9" * 30}, "less than or equal to 9223372036854775807"),
    ],
)
def test_filters_out_of_range_get_400_naming_the_problem(boss, params, reason):
    response = boss.get("/admin/reports/delivery/", params)
    assert response.status_code == 400
    assert reason in response.content.decode()


@pytest.mark.parametrize("group_by", ["ref", "ref2"])
@pytest.mark.parametrize("page", ["2147483648", "9" * 18])
def test_a_page_number_too_large_for_the_database_shows_the_last_page(boss, group_by, page):
    response = boss.get("/admin/reports/refs/", {"group_by": group_by, "page": page})
    assert response.status_code == 200
    assert response.context["report"].page == 1  # no groups: one (empty) page
