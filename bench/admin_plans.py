"""EXPLAIN ANALYZE of the admin lists' slow paths, before (the SQL Django's admin wrote on main:
icontains searches, full counts, OFFSET pages, the date hierarchy) and after (common/changelists),
on the database a `bench/admin_bench.py --keep` run left. The plans go in
docs/performance-17.md.

    DJANGO_DEBUG=true python bench/admin_plans.py [--url postgres://.../bench_admin]
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_admin"
        ),
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.url
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db.models import Q
    from django.db.models.functions import TruncMonth

    from common.changelists import queryset_estimate, search_term_filter
    from messaging.models import SentMessage
    from orders.models import Order

    messages = SentMessage.objects.order_by("-created_at", "-id")
    orders = Order.objects.order_by("-created_at", "-id")
    count = messages.count()
    phone = f"+9198{min(1_234_560, count // 2):08d}"
    partial = phone[6:]
    order_phone = f"+9197{min(123_456, orders.count() // 2):08d}"

    def icontains(queryset, fields, term):
        q = Q()
        for field in fields:
            q |= Q(**{f"{field}__icontains": term})
        return queryset.filter(q)

    def search(queryset, term, **fields):
        found, _ = search_term_filter(term, **fields)
        return queryset.filter(found)

    message_fields = {
        "phone_fields": ("recipient",),
        "exact_fields": ("provider_message_id", "first_provider_message_id", "ref1", "ref2"),
        "partial_fields": ("recipient", "ref"),
    }
    order_fields = {
        "phone_fields": ("customer_phone",),
        "partial_fields": ("reference_id", "customer_name", "customer_phone"),
    }
    old_message_search = (
        "recipient",
        "ref",
        "ref1",
        "ref2",
        "provider_message_id",
        "first_provider_message_id",
    )
    old_order_search = ("reference_id", "customer_phone", "customer_name")
    cases = [
        ("messages: count, unfiltered (before)", lambda: messages, "count"),
        ("messages: count up to 10,000 (after)", lambda: messages.values("pk")[:10_000], "count"),
        (
            f"messages: search {phone} (before: icontains on 6 fields)",
            lambda: icontains(messages, old_message_search, phone[3:])[:100],
            "rows",
        ),
        (
            f"messages: search {phone} (after: E.164 exact)",
            lambda: search(messages, phone[3:], **message_fields)[:100],
            "rows",
        ),
        (
            f"messages: search part {partial} (before)",
            lambda: icontains(messages, old_message_search, partial)[:100],
            "rows",
        ),
        (
            f"messages: search part {partial} (after: trigram ILIKE)",
            lambda: search(messages, partial, **message_fields)[:100],
            "rows",
        ),
        (
            f"messages: count of search part {partial} (before)",
            lambda: icontains(messages, old_message_search, partial),
            "count",
        ),
        (
            f"messages: count of search part {partial} (after, up to 10,000)",
            lambda: search(messages, partial, **message_fields).values("pk")[:10_000],
            "count",
        ),
        ("messages: page 500 (before: OFFSET over rows)", lambda: messages[49_900:50_000], "rows"),
        (
            "messages: page 500 (after: ids from the index)",
            lambda: messages.values("pk")[49_900:50_000],
            "rows",
        ),
        (
            "messages: date hierarchy months (before; removed)",
            lambda: messages.annotate(m=TruncMonth("created_at")).order_by().values("m").distinct(),
            "rows",
        ),
        (
            f"orders: search {order_phone} (before)",
            lambda: icontains(orders, old_order_search, order_phone[3:])[:100],
            "rows",
        ),
        (
            f"orders: search {order_phone} (after)",
            lambda: search(orders, order_phone[3:], **order_fields)[:100],
            "rows",
        ),
        (
            "orders: search part ORD-5000 (before)",
            lambda: icontains(orders, old_order_search, "ORD-5000")[:100],
            "rows",
        ),
        (
            "orders: search part ORD-5000 (after)",
            lambda: search(orders, "ORD-5000", **order_fields)[:100],
            "rows",
        ),
    ]
    for label, queryset, kind in cases:
        qs = queryset()
        if kind == "count":
            from django.db import connection

            sql, params = qs.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(
                    f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM ({sql}) AS rows",  # noqa: S608
                    params,
                )
                plan = "\n".join(row[0] for row in cursor.fetchall())
        else:
            plan = qs.explain(analyze=True, buffers=True, costs=False)
        print(f"### {label}\n\n```\n{plan}\n```\n", flush=True)
    print(f"Estimate of all messages (EXPLAIN): {queryset_estimate(messages):,}")


if __name__ == "__main__":
    main()
