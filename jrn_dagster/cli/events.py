import sys
from importlib.metadata import PackageNotFoundError, version
from typing import BinaryIO

import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, fail, pass_cli
from jrn_dagster.db.migrate import ensure_up_to_date
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.installations import LIFECYCLE_EVENT_TYPES, normalize_installation_event
from jrn_dagster.domain.push import normalize_push
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.services.matching import EventMatch, Outcome, match_events
from jrn_dagster.webhooks.deliveries import (
    HANDLED_EVENT_TYPES,
    DeliveryKind,
    prepare_delivery,
    read_limited,
)
from jrn_dagster.webhooks.store import store_delivery


def _cli_user_agent() -> str:
    try:
        return f"jrn-dagster/{version('jrn_dagster')} (events ingest)"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "jrn-dagster (events ingest)"


@click.group(help="Stored webhook deliveries (the sensor's input).")
def events() -> None:
    pass


@events.command("ingest")
@click.argument("file", type=click.File("rb"), required=False)
@click.option(
    "--event",
    "event_type",
    required=True,
    help="Event type, as in X-GitHub-Event (push, installation, installation_repositories).",
)
@click.option(
    "--delivery",
    "delivery_id",
    required=True,
    help="Delivery GUID, as in X-GitHub-Delivery: a GUID already stored is a duplicate.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def events_ingest(
    cli: CliContext,
    file: BinaryIO | None,
    event_type: str,
    delivery_id: str,
    as_json: bool,
) -> None:
    """Store the delivery payload in FILE (or stdin), as the receiver would.

    Same validation and deduplication as POST /webhooks/github, minus the signature: for replaying
    deliveries (e.g. from GitHub's delivery log) and for tests.
    """
    body = read_limited(file or sys.stdin.buffer)
    delivery = prepare_delivery(
        event_type=event_type,
        delivery_id=delivery_id,
        body=body,
        headers={"User-Agent": _cli_user_agent()},
    )
    if delivery.kind is not DeliveryKind.HANDLED:
        fail(
            f"event type {event_type!r} is not stored (handled: "
            f"{', '.join(sorted(HANDLED_EVENT_TYPES))}); nothing stored"
        )
    database = cli.existing_database()
    ensure_up_to_date(database)
    stored = store_delivery(database, delivery)
    event = stored.event
    if as_json:
        answer: dict[str, object] = {
            "event_id": event.id,
            "delivery_id": event.delivery_id,
            "created": stored.created,
        }
        if stored.lifecycle is not None:
            answer["applied"] = stored.lifecycle.describe()
        echo_json(answer)
    elif stored.created:
        click.echo(f"stored: event {event.id} (delivery {event.delivery_id}, {_summary(event)})")
        if stored.lifecycle is not None:
            click.echo(f"applied: {stored.lifecycle.describe()}")
    else:
        click.echo(f"duplicate: delivery {event.delivery_id} is already stored as event {event.id}")


@events.command("list")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Newest N."
)
@click.option("--json", "as_json", is_flag=True, help="Events without payloads, as JSON.")
@pass_cli
def events_list(cli: CliContext, limit: int, as_json: bool) -> None:
    """The newest stored events first, with what each push means and what the sensor makes
    of it (matched, invalid with its reason, ...)."""
    with cli.unit_of_work() as uow:
        recent = uow.events.recent(limit=limit)
        matches = {match.event_id: match for match in match_events(uow, recent)}
    if as_json:
        echo_json(
            [
                {
                    **event.model_dump(mode="json", exclude={"payload"}),
                    "summary": _summary(event),
                    "outcome": matches[event.id].outcome.value,
                    "detail": matches[event.id].detail,
                }
                for event in recent
            ]
        )
        return
    echo_table(
        ["id", "delivery", "type", "received", "outcome", "summary"],
        [
            [
                e.id,
                e.delivery_id,
                e.event_type,
                e.received_at.isoformat(timespec="seconds"),
                matches[e.id].outcome.value,
                _summary(e, matches[e.id]),
            ]
            for e in recent
        ],
    )


@events.command("show")
@click.argument("event_id", type=int)
@pass_cli
def events_show(cli: CliContext, event_id: int) -> None:
    """One stored event with its payload and kept headers, as JSON."""
    with cli.unit_of_work() as uow:
        event = uow.events.get(event_id)
    echo_json(event)


def _summary(event: WebhookEvent, match: EventMatch | None = None) -> str:
    if match is not None and match.outcome in (Outcome.INVALID, Outcome.DUPLICATE):
        return f"{match.outcome.value}: {match.detail}"
    if event.event_type in LIFECYCLE_EVENT_TYPES:
        try:
            return normalize_installation_event(event.event_type, event.payload).summary()
        except InvalidInputError as error:
            return f"unreadable: {error}"
    if event.event_type != "push":
        return "-"
    try:
        push = normalize_push(event.payload)
    except InvalidInputError as error:
        return f"unreadable: {error}"
    where = f"{push.coordinate} {push.ref}"
    if not push.actionable:
        return f"{where}: nothing to do ({push.skip_reason})"
    base = push.base_sha[:12] if push.base_sha else "(new branch)"
    forced = " forced" if push.forced else ""
    return f"{where} {base}..{push.after[:12]}{forced}"
