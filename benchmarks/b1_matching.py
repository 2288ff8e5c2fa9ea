"""B1: matching 500 push events against 10,000 sources and 50,000 bindings on PostgreSQL.

Ours: the sensor's tick (``plan_tick``): one set-based query matches every push of the batch to
true, enabled sources (a VALUES list of the pushes joined to sources, integrations, bindings and
spaces), one query checks for duplicates: a fixed number of statements per tick. Baseline,
measured in the same run on the same data: what the docs platform's adapter does — load every
enabled source per event, filter virtual ones and match the coordinate in Python, then load each
matched source's bindings and spaces one query at a time.

Then: statements and time of one tick over 50, 500 and 5,000 events (batch = events), and tick
time against 1,000 / 10,000 (/ 100,000 with ``--with-100k``: minutes) sources.

    .venv/bin/python -m benchmarks.b1_matching [--events 500] [--sources 10000] [--with-100k]
"""

import argparse
import random
import time

from sqlalchemy import insert, select

from benchmarks.support import counting_statements, scratch_postgres, timed
from jrn_dagster.db.models import (
    BindingRow,
    IntegrationRow,
    SourceRow,
    SpaceRow,
    WebhookEventRow,
)
from jrn_dagster.db.repositories.events import push_facts
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.jrn import event_jrn
from jrn_dagster.domain.push import normalize_push
from jrn_dagster.services.sensor_tick import plan_tick

BRANCHES = ["main", "dev", "release/1"]


def populate(database: Database, *, sources: int, bindings_per_source: int, events: int) -> None:
    rng = random.Random(7)
    repos = max(1, sources // 5)
    spaces = max(1, sources // 5)
    with database.engine.begin() as connection:
        connection.execute(
            insert(IntegrationRow),
            [
                {"name": f"int-{i}", "kind": "token", "host": "github.com", "status": "active",
                 "token_env": "GH_TOKEN"}
                for i in range(10)
            ],
        )  # fmt: skip
        integration_ids = list(connection.scalars(select(IntegrationRow.id)))
        rows = []
        for i in range(sources):
            repo = f"github.com/org{i % repos % 50}/repo{i % repos}"
            virtual = i % 4 == 3
            rows.append(
                {
                    "name": f"source-{i}",
                    "type": "git",
                    "repo": repo,
                    "repo_key": repo.lower(),
                    "branch": rng.choice([None, *BRANCHES]),
                    "integration_id": None if virtual else rng.choice(integration_ids),
                    "enabled": i % 10 != 9,
                }
            )
        connection.execute(insert(SourceRow), rows)
        connection.execute(
            insert(SpaceRow),
            [
                {"slug": f"space-{i}", "name": f"Space {i}", "archived": i % 20 == 19}
                for i in range(spaces)
            ],
        )
        source_ids = list(connection.scalars(select(SourceRow.id).order_by(SourceRow.id)))
        space_ids = list(connection.scalars(select(SpaceRow.id)))
        bindings = []
        for source_id in source_ids:
            for space_id in rng.sample(space_ids, bindings_per_source):
                bindings.append(
                    {"space_id": space_id, "source_id": source_id, "enabled": rng.random() > 0.1}
                )
        connection.execute(insert(BindingRow), bindings)
    add_events(database, sources=sources, events=events)


def add_events(database: Database, *, sources: int, events: int, first: int = 0) -> None:
    """Push events to random repositories and branches, stored as the receiver stores them (with
    their push columns). No push continues another: each is a run of its own, on both sides."""
    rng = random.Random(11 + first)
    repos = max(1, sources // 5)
    payloads = []
    for n in range(first, first + events):
        r = rng.randrange(repos)
        owner, name = f"org{r % 50}", f"repo{r}"
        payload = {
            "ref": f"refs/heads/{rng.choice(BRANCHES)}",
            "before": f"{2 * n + 1:040x}",
            "after": f"{2 * n + 2:040x}",
            "forced": False,
            "repository": {
                "name": name,
                "full_name": f"{owner}/{name}",
                "owner": {"login": owner},
                "html_url": f"https://github.com/{owner}/{name}",
            },
        }
        payloads.append(
            {
                "delivery_id": f"delivery-{n}",
                "event_type": "push",
                "headers": {},
                "payload": payload,
                **push_facts("push", payload, None),
            }
        )
    with database.engine.begin() as connection:
        connection.execute(insert(WebhookEventRow), payloads)
        connection.exec_driver_sql("ANALYZE")


def ours(database: Database, batch_size: int) -> tuple[int, list[int], list[float]]:
    """(runs requested, statements per tick, seconds per tick) over every stored event."""
    cursor, runs, statements, tick_times = EventCursor(), 0, [], []
    while True:
        with counting_statements(database.engine) as seen:
            plan, seconds = timed(
                lambda cursor=cursor: plan_tick(
                    database, cursor, batch_size=batch_size, now=time.time()
                )
            )
        if plan.events_read == 0:
            return runs, statements, tick_times
        cursor = plan.cursor
        # One run request per (push, space): no push here continues another, so no burst.
        runs += sum(len(run.event_ids) for run in plan.runs)
        statements.append(len(seen))
        tick_times.append(seconds)


def one_tick(database: Database, events: int) -> tuple[int, float, int]:
    """(statements, seconds, runs) of one tick over the first ``events`` events."""
    with counting_statements(database.engine) as seen:
        plan, seconds = timed(
            lambda: plan_tick(database, EventCursor(), batch_size=events, now=time.time())
        )
    assert plan.events_read == events, plan.events_read
    return len(seen), seconds, len(plan.runs)


def baseline(database: Database, batch_size: int) -> tuple[int, int, list[float]]:
    """The reference adapter: every enabled source per event, virtual ones filtered after."""
    runs, statements, tick_times, last_id = 0, 0, [], 0
    while True:
        with counting_statements(database.engine) as seen, database.unit_of_work() as uow:
            start = time.perf_counter()
            events = uow.events.after(last_id, limit=batch_size)
            for stored in events:
                push = normalize_push(stored.payload)
                repo = str(push.coordinate).lower()
                # Plain rows, not ORM objects: the fairest version of "load them all".
                enabled = uow.session.execute(
                    select(
                        SourceRow.id, SourceRow.repo, SourceRow.branch, SourceRow.integration_id
                    ).where(SourceRow.enabled)
                ).all()
                for source_id, source_repo, branch, integration_id in enabled:
                    if integration_id is None:  # virtual: filtered after the query
                        continue
                    if (source_repo or "").lower() != repo or branch not in (None, push.branch):
                        continue
                    status = uow.session.scalar(
                        select(IntegrationRow.status).where(IntegrationRow.id == integration_id)
                    )
                    if status != "active":
                        continue
                    for space_archived in uow.session.scalars(
                        select(SpaceRow.archived)
                        .join(BindingRow, BindingRow.space_id == SpaceRow.id)
                        .where(BindingRow.source_id == source_id, BindingRow.enabled)
                    ):
                        if not space_archived:
                            event_jrn(push.host, push.owner, push.repo, push.branch or "")
                            runs += 1  # one job per binding
            elapsed = time.perf_counter() - start
        if not events:
            return runs, statements, tick_times
        last_id = events[-1].id
        statements += len(seen)
        tick_times.append(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--bindings-per-source", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200, help="events per sensor tick")
    parser.add_argument(
        "--with-100k", action="store_true", help="add 100,000 sources to the scale table (minutes)"
    )
    parser.add_argument("--skip-scale", action="store_true", help="no scale table")
    args = parser.parse_args()
    with scratch_postgres() as database:
        populate(
            database,
            sources=args.sources,
            bindings_per_source=args.bindings_per_source,
            events=args.events,
        )
        our_runs, our_statements, our_ticks = ours(database, args.batch)
        base_runs, base_statements, base_ticks = baseline(database, args.batch)
        assert our_runs == base_runs, f"ours found {our_runs} runs, the baseline {base_runs}"
        ticks = len(our_ticks)
        ours_per_tick = sum(our_ticks) / ticks
        base_per_tick = sum(base_ticks) / len(base_ticks)
        print(
            f"B1 matching: {args.events} events, {args.sources} sources, "
            f"{args.sources * args.bindings_per_source} bindings (PostgreSQL), "
            f"{args.batch} events per tick, {our_runs} run requests"
        )
        print(
            f"  ours     : {ours_per_tick * 1000:8.1f} ms/tick  "
            f"{sum(our_statements) / ticks:8.1f} statements/tick (max {max(our_statements)})"
        )
        print(
            f"  baseline : {base_per_tick * 1000:8.1f} ms/tick  "
            f"{base_statements / len(base_ticks):8.1f} statements/tick"
        )
        print(
            f"  ratio    : {base_per_tick / ours_per_tick:8.1f}x faster, "
            f"{base_statements / max(sum(our_statements), 1):.1f}x fewer statements"
        )
        # One tick whatever its batch: the same statements at 50, 500 and 5,000 events.
        add_events(database, sources=args.sources, events=5_000 - args.events, first=args.events)
        print(f"One tick over N events ({args.sources} sources):")
        print(f"  {'events':>7}  {'statements':>10}  {'ms/tick':>8}  {'runs':>6}")
        for events in (50, 500, 5_000):
            statements, seconds, runs = one_tick(database, events)
            print(f"  {events:>7}  {statements:>10}  {seconds * 1000:8.1f}  {runs:>6}")
    if args.skip_scale:
        return
    print(f"Tick time against sources ({args.events} events, {args.batch} per tick):")
    print(f"  {'sources':>8}  {'ours ms/tick':>12}  {'statements':>10}  {'baseline ms/tick':>16}")
    for sources in (1_000, 10_000, *([100_000] if args.with_100k else [])):
        with scratch_postgres() as database:
            populate(
                database,
                sources=sources,
                bindings_per_source=args.bindings_per_source,
                events=args.events,
            )
            _, statements, tick_times = ours(database, args.batch)
            # The baseline reads every source for every event: at 100,000 sources, one tick
            # alone takes minutes, so it is only measured up to 10,000.
            base = (
                f"{sum(baseline(database, args.batch)[2]) / len(tick_times) * 1000:16.1f}"
                if sources <= 10_000
                else f"{'(not run)':>16}"
            )
            print(
                f"  {sources:>8}  {sum(tick_times) / len(tick_times) * 1000:12.1f}  "
                f"{max(statements):>10}  {base}"
            )


if __name__ == "__main__":
    main()
