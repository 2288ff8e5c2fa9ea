"""A realistic set of integrations, sources, spaces and bindings, and events to go with it."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from jrn_dagster.db.models import Base
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.records import IntegrationStatus, WebhookEvent
from jrn_dagster_tests.support.github import push_payload


def store_event(
    database: Database, payload: dict[str, Any], *, event_type: str = "push"
) -> WebhookEvent:
    with database.unit_of_work() as uow:
        event, _ = uow.events.store(
            delivery_id=str(uuid.uuid4()), event_type=event_type, payload=payload, headers={}
        )
        uow.commit()
    return event


def store_push(database: Database, **fields: Any) -> WebhookEvent:
    return store_event(database, push_payload(**fields))


def table_snapshot(database: Database) -> dict[str, list[str]]:
    """Every row of every application table, for "nothing changed" assertions."""
    snapshot = {}
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(text(f"SELECT * FROM {table.name}")).all()  # noqa: S608
            snapshot[table.name] = sorted(json.dumps(list(row), default=str) for row in rows)
    return snapshot


@dataclass
class World:
    ids: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


def matching_world(database: Database) -> World:
    """What matching (docs/contract.md#matching) tells apart, on github.com/acme/widgets."""
    with database.unit_of_work() as uow:
        gh = uow.integrations.add_token("gh", token_env="GH_TOKEN")
        uow.integrations.add_token("gh-suspended", token_env="GH_TOKEN_2")
        app = uow.integrations.add_github_app(
            "app", app_id=1, installation_id=42, private_key_env="APP_KEY"
        )
        uow.integrations.add_github_app(
            "app-other", app_id=1, installation_id=43, private_key_env="APP_KEY"
        )
        sources = {
            "main": uow.sources.add(
                "widgets-main", repo="github.com/Acme/Widgets", branch="main", integration="gh"
            ),
            "every": uow.sources.add(
                "widgets-all", repo="github.com/acme/widgets", integration="gh"
            ),
            "dev": uow.sources.add(
                "widgets-dev", repo="github.com/acme/widgets", branch="dev", integration="gh"
            ),
            "virtual": uow.sources.add("widgets-local", repo="github.com/acme/widgets"),
            "disabled": uow.sources.add(
                "widgets-off", repo="github.com/acme/widgets", integration="gh", enabled=False
            ),
            "suspended": uow.sources.add(
                "widgets-suspended", repo="github.com/acme/widgets", integration="gh-suspended"
            ),
            "app": uow.sources.add(
                "widgets-app", repo="github.com/acme/widgets", integration="app"
            ),
            "app-other": uow.sources.add(
                "widgets-app-other", repo="github.com/acme/widgets", integration="app-other"
            ),
            "elsewhere": uow.sources.add(
                "gadgets", repo="github.com/acme/gadgets", integration="gh"
            ),
        }
        uow.integrations.set_status("gh-suspended", IntegrationStatus.SUSPENDED)
        spaces = {
            slug: uow.spaces.add(slug)
            for slug in ["alpha", "beta", "gamma", "archived", "patterned", "quiet"]
        }
        bindings = [
            ("alpha", "widgets-main", {}),
            ("beta", "widgets-main", {}),
            ("gamma", "widgets-all", {}),
            ("beta", "widgets-all", {}),
            ("archived", "widgets-main", {}),
            ("patterned", "widgets-all", {"jrn_pattern": "jrn::path:/**/release/*"}),
            ("quiet", "widgets-main", {"enabled": False}),
            ("alpha", "widgets-dev", {}),
            ("alpha", "widgets-local", {}),
            ("alpha", "widgets-off", {}),
            ("alpha", "widgets-suspended", {}),
            ("alpha", "widgets-app", {}),
            ("beta", "widgets-app-other", {}),
            ("alpha", "gadgets", {}),
        ]
        for slug, source, options in bindings:
            uow.spaces.bind(slug, source, **options)
        uow.spaces.archive("archived")
        uow.commit()
    ids = {f"source:{k}": v.id for k, v in sources.items()}
    ids.update({f"space:{k}": v.id for k, v in spaces.items()})
    ids.update({"integration:gh": gh.id, "integration:app": app.id})
    return World(ids)
