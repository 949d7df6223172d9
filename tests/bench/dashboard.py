"""Usage dashboard benchmark: prints a table; not a test.

    .venv/bin/python tests/bench/dashboard.py [--runs N] [--records N]
    DATABASE_URL=postgres://user@host:5432/any .venv/bin/python tests/bench/dashboard.py

Seeds 100,000 usage records (50 people, 5 teams, 4 models, 90 days, failures
with error codes, a spread of times to first token) into a fresh database — a
temporary SQLite file always, and PostgreSQL too when DATABASE_URL names one
(a database with a unique name is created on that server and dropped after) —
then times the dashboard page, as a staff member asks for it through Django's
test client, for the last 30 and 90 days: the median of N runs after one
warm-up, with the number of SQL queries. Exits 1 when a median is over the
target.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TARGET_MS = 300
PERIODS = (30, 90)
MODELS = {  # id: (share of calls, $ in, $ out per million, typical TTFT ms)
    "alibaba/qwen3-vl-32b-thinking": (0.35, Decimal("0.50"), Decimal("2.00"), 2400),
    "alibaba/qwen3-vl-32b-instruct": (0.30, Decimal("0.40"), Decimal("1.60"), 700),
    "alibaba/qwen3-32b": (0.20, Decimal("0.30"), Decimal("1.20"), 1100),
    "Qwen/QwQ-32B": (0.15, Decimal("0.35"), Decimal("1.40"), 3100),
}
ERRORS = {  # code: weight among failures
    "rate_limited": 40,
    "upstream_unavailable": 22,
    "stalled": 14,
    "connection": 10,
    "connect_failed": 6,
    "rejected": 5,
    "bad_response": 2,
    "auth": 1,
}


@contextmanager
def real_created_at():
    """bulk_create would stamp every record "now" (auto_now_add); keep ours."""
    from chat.models import UsageRecord

    field = UsageRecord._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


def seed(count, *, users=50, teams=5, days=90):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from chat.models import Membership, ModelPrice, Team, UsageRecord

    rng = random.Random(7)
    User = get_user_model()
    people = User.objects.bulk_create(
        User(username=f"person{n:02d}", first_name=rng.choice(["Ana", "Ben", "Chen", "Dee", ""]))
        for n in range(users)
    )
    groups = Team.objects.bulk_create(Team(name=f"Team {chr(65 + n)}") for n in range(teams))
    Membership.objects.bulk_create(
        Membership(team=groups[n % teams], user=p) for n, p in enumerate(people) if n % 3
    )
    team_of = {p.pk: groups[n % teams] for n, p in enumerate(people) if n % 3}
    for model, (_, price_in, price_out, _) in MODELS.items():
        ModelPrice.objects.create(model=model, input_per_m=price_in, output_per_m=price_out)

    # Some people use it a lot: a long tail, as in life.
    weights = [1 / (n + 1) ** 0.8 for n in range(users)]
    models, shares = list(MODELS), [m[0] for m in MODELS.values()]
    codes, code_weights = list(ERRORS), list(ERRORS.values())
    now = timezone.now()
    records = []
    for _ in range(count):
        person = rng.choices(people, weights)[0]
        model = rng.choices(models, shares)[0]
        _, price_in, price_out, ttft = MODELS[model]
        # More use lately: the age in days leans towards today.
        age = timedelta(days=days * rng.random() ** 1.3, seconds=rng.randrange(86_400))
        roll = rng.random()
        status, code, estimated = "completed", "", False
        if roll < 0.05:
            status, code = "failed", rng.choices(codes, code_weights)[0]
        elif roll < 0.07:
            status, estimated = "stopped", True
        elif roll < 0.075:
            status, estimated = "interrupted", True
        images = rng.choice((0, 0, 1, 1, 1, 2, 4)) if "vl" in model else 0
        prompt = rng.randint(200, 3000) + images * 1100
        reasoning = rng.randint(0, 2500) if "thinking" in model or "QwQ" in model else 0
        completion = 0 if code else reasoning + rng.randint(40, 900)
        first = None if code and rng.random() < 0.8 else int(rng.lognormvariate(0, 0.45) * ttft)
        records.append(
            UsageRecord(
                user=person,
                team=team_of.get(person.pk) if rng.random() < 0.6 else None,
                model=model,
                prompt_tokens=prompt,
                completion_tokens=completion,
                reasoning_tokens=min(reasoning, completion),
                estimated=estimated,
                image_count=images,
                visual_tokens=images * 1100,
                cost_usd=((prompt * price_in + completion * price_out) / 1_000_000).quantize(
                    Decimal("0.000001")
                ),
                detail="auto",
                status=status,
                attempts=rng.choice((1, 1, 1, 2, 4)) if code else 1,
                error_code=code,
                first_token_ms=first,
                duration_ms=(first or 0) + rng.randint(500, 20_000),
                created_at=now - age,
            )
        )
    # In the order they would have been written: the table's row order follows
    # created_at, as in a real database, and so does the index's.
    records.sort(key=lambda r: r.created_at)
    with real_created_at():
        UsageRecord.objects.bulk_create(records, batch_size=5000)
    return people


def leg(runs, count):
    """In a child process whose DATABASE_URL is the fresh database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionqa.test_settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from chat.usage import usage_stats

    setup_test_environment()
    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    seed(count)
    seeded_s = time.perf_counter() - start
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    staff = get_user_model().objects.create_user(
        "bench-staff", password="x", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(staff)
    results = []

    def median_ms(render):
        render()  # warm up
        times = []
        for _ in range(runs):
            begin = time.perf_counter()
            render()
            times.append((time.perf_counter() - begin) * 1000)
        return statistics.median(times), max(times)

    for days in PERIODS:
        url = f"/admin/chat/usagerecord/dashboard/?days={days}"

        def render(url=url):
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            assert b"<svg" in response.content
            return response

        ms, slowest = median_ms(render)
        # The same page with its queries one after another (and counted).
        with mock.patch.object(usage_stats, "SIDE_BY_SIDE", 1):
            serial, _ = median_ms(render)
            with CaptureQueriesContext(connection) as queries:
                render()
        results.append(
            {"days": days, "ms": ms, "max": slowest, "serial": serial, "q": len(queries)}
        )
    return {"vendor": connection.vendor, "seeded_s": seeded_s, "results": results}


def run_leg(database_url, runs, count):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "visionqa.test_settings",
    }
    args = [sys.executable, __file__, "--leg", "--runs", str(runs), "--records", str(count)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"the benchmark on {urlsplit(database_url).scheme} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def fresh_postgres(url):
    """A new, uniquely named database on the server `url` points at; dropped after."""
    import psycopg

    parts = urlsplit(url)
    name = f"visionqa_bench_{uuid.uuid4().hex[:12]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--leg", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.leg:
        print(json.dumps(leg(args.runs, args.records)))
        return 0

    legs = []
    with tempfile.TemporaryDirectory() as folder:
        legs.append(run_leg(f"sqlite:///{folder}/bench.sqlite3", args.runs, args.records))
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        with fresh_postgres(url) as fresh:
            legs.append(run_leg(fresh, args.runs, args.records))

    print(
        f"dashboard over {args.records:,} usage records; {os.cpu_count()} cores; "
        f"median of {args.runs} renders after a warm-up"
    )
    print(
        f"{'database':12} {'period':>6} {'median ms':>10} {'max ms':>8} {'target':>7}   "
        f"{'serial ms':>10} {'queries':>8}"
    )
    failed = False
    for result in legs:
        for row in result["results"]:
            slow = row["ms"] > TARGET_MS
            failed |= slow
            print(
                f"{result['vendor']:12} {row['days']:>4} d {row['ms']:10.0f} {row['max']:8.0f} "
                f"{TARGET_MS:>7} {'SLOW' if slow else 'ok':4} {row['serial']:10.0f} {row['q']:8}"
            )
    print("seeding: " + ", ".join(f"{r['vendor']} {r['seeded_s']:.1f} s" for r in legs))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
