"""Coupon pool benchmark: generating 10,000 codes and assigning 10,000 of them (target: each
under 2 s), with one-at-a-time assignment as the baseline in the same run.

    .venv/bin/python bench/coupons_bench.py                   # SQLite (a throwaway file in var/)
    DATABASE_URL=postgres://... .venv/bin/python bench/coupons_bench.py   # PostgreSQL

It creates its own database (SQLite: var/bench_coupons.sqlite3; PostgreSQL: test_<name>) and
drops it at the end; nothing else is touched.
"""

import io
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

COUNT = 10_000
BASELINE_COUNT = 500
TARGET_SECONDS = 2.0


def timed(label, func):
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    print(f"{label:<48} {seconds:7.3f} s")
    return result, seconds


def bench():
    from coupons.models import Coupon, CouponPool, PoolCode
    from coupons.selectors import pool_export_csv
    from coupons.services import pool_code_assign, pool_codes_assign, pool_codes_generate

    coupon = Coupon.objects.create(
        code="BENCH", public_id="bench", description="Bench", discount_type="fixed", amount_off=1
    )
    pool = CouponPool.objects.create(coupon=coupon)
    phones = [f"+9198{n:08d}" for n in range(COUNT + BASELINE_COUNT)]

    _, generate_s = timed(
        f"generate {COUNT:,} codes",
        lambda: pool_codes_generate(pool=pool, count=COUNT + BASELINE_COUNT, length=8),
    )
    assigned, assign_s = timed(
        f"assign {COUNT:,} codes (pool_codes_assign)",
        lambda: pool_codes_assign(coupon=coupon, phones=phones[:COUNT]),
    )
    assert len(set(assigned.values())) == COUNT
    _, again_s = timed(
        f"assign the same {COUNT:,} again (all held)",
        lambda: pool_codes_assign(coupon=coupon, phones=phones[:COUNT]),
    )

    def one_by_one():
        for phone in phones[COUNT:]:
            pool_code_assign(coupon=coupon, phone=phone)

    _, single_s = timed(f"baseline: assign {BASELINE_COUNT} one at a time", one_by_one)
    assert PoolCode.objects.filter(pool=pool, phone__isnull=False).count() == len(phones)
    timed(
        f"export {len(phones):,} codes as CSV",
        lambda: pool_export_csv(pool=pool, out=io.StringIO()),
    )

    per_code_single = single_s / BASELINE_COUNT
    per_code_bulk = assign_s / COUNT
    print()
    print(
        f"one-at-a-time per code: {per_code_single * 1000:.2f} ms; "
        f"bulk per code: {per_code_bulk * 1000:.3f} ms "
        f"({per_code_single / per_code_bulk:.0f}x faster in bulk)"
    )
    for label, seconds in [("generate", generate_s), ("assign", assign_s)]:
        verdict = "OK" if seconds < TARGET_SECONDS else "MISSED"
        print(f"target {label} {COUNT:,} < {TARGET_SECONDS} s: {verdict} ({seconds:.3f} s)")


def main():
    settings = connection.settings_dict
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        settings["TEST"]["NAME"] = str(BASE_DIR / "var" / "bench_coupons.sqlite3")
        (BASE_DIR / "var").mkdir(exist_ok=True)
    vendor = connection.vendor
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"database: {vendor} ({connection.settings_dict['NAME']}); "
            f"load average {load} on {os.cpu_count()} CPUs"
        )
        bench()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
