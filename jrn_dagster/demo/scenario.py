"""The demo's world: a local repository with history, an integration, a true and a virtual
source on the same coordinate, two spaces with docs carrying attention rules, and bindings.
Every step is idempotent: running the demo again reuses what exists."""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.demo.local_git import LocalRemote
from jrn_dagster.demo.push_payload import commit_entry, push_payload
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import NotFoundError
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.webhooks.deliveries import prepare_delivery
from jrn_dagster.webhooks.store import store_delivery

COORDINATE = RepoCoordinate.parse("github.com/acme/widgets")
INTEGRATION = "demo-github"
TOKEN_ENV = "JRN_DEMO_GIT_TOKEN"  # noqa: S105 - the name of a variable, not a token
TRUE_SOURCE = "widgets"
VIRTUAL_SOURCE = "widgets-local"
API_SPACE = "api-docs"
GUIDES_SPACE = "guides"

INITIAL_FILES = {
    "README.md": "# widgets\n\nMake widgets. `widgets serve` starts the API.\n",
    "src/api/routes.py": 'ROUTES = ["/widgets"]\n',
    "src/api/models.py": "class Widget:\n    name: str\n",
    "src/cli/main.py": 'def main() -> None:\n    print("widgets")\n',
}

DOCS = {
    API_SPACE: {
        "reference/routes.md": """---
jrn: api-routes
attention:
  - op: file
    path: src/api/**/*.py
---
# API routes

Every route the widgets API serves.
""",
        "reference/models.md": """---
jrn: api-models
attention:
  - op: file
    path: src/api/models.py
    keywords: [Widget]
---
# Models

The `Widget` model.
""",
    },
    GUIDES_SPACE: {
        "getting-started.md": """---
jrn: getting-started
attention:
  - op: file
    path: README.md
    source: widgets
  - op: file
    path: src/cli/*.py
    source: widgets-local
---
# Getting started

Install widgets, then run `widgets serve`.
""",
        "faq.md": """---
jrn: faq
attention:
  - op: file
    source: widgets
---
# FAQ

(This doc's rule has no path: the impact report lists it as a warning.)
""",
    },
}


# Warnings the demo's docs raise on purpose, with what they show (the demo says so next to them).
EXPECTED_WARNINGS = {
    "faq.md": "expected: the demo's faq.md has a rule without a path, to show how the impact "
    "report flags a rule it cannot use (the run goes on; strict impact config would fail it)",
}


@dataclass(frozen=True)
class DemoWorld:
    remote: LocalRemote
    source_id: int
    virtual_source_id: int
    spaces: tuple[str, ...]


def _ensure_catalog(uow: UnitOfWork) -> tuple[int, int]:
    try:
        uow.integrations.get_by_name(INTEGRATION)
    except NotFoundError:
        uow.integrations.add_token(INTEGRATION, token_env=TOKEN_ENV, host=COORDINATE.host)
    ids = []
    for name, integration in ((TRUE_SOURCE, INTEGRATION), (VIRTUAL_SOURCE, None)):
        try:
            source = uow.sources.get_by_name(name)
        except NotFoundError:
            source = uow.sources.add(
                name,
                repo=str(COORDINATE),
                branch="main" if integration else None,
                integration=integration,
            )
        ids.append(source.id)
    for slug, bound in ((API_SPACE, [TRUE_SOURCE]), (GUIDES_SPACE, [TRUE_SOURCE, VIRTUAL_SOURCE])):
        try:
            space = uow.spaces.get_by_slug(slug)
        except NotFoundError:
            space = uow.spaces.add(slug)
        for source_name in bound:
            uow.spaces.bind(slug, source_name)
        for path, content in DOCS[slug].items():
            if uow.docs.find(space.id, path) is None:
                uow.docs.put(space.id, path, content)
    return ids[0], ids[1]


def ensure_world(database: Database, git_root: Path) -> DemoWorld:
    remote = LocalRemote(git_root, COORDINATE)
    if remote.ensure():
        remote.commit_and_push(INITIAL_FILES, "initial commit")
    with database.unit_of_work() as uow:
        source_id, virtual_id = _ensure_catalog(uow)
        uow.commit()
    return DemoWorld(remote, source_id, virtual_id, (API_SPACE, GUIDES_SPACE))


def push_change(database: Database, world: DemoWorld) -> WebhookEvent:
    """Commit a change to the API and the README, push it, and ingest the push as GitHub
    would deliver it (same validation and deduplication as the receiver)."""
    count = int(world.remote.git("rev-list", "--count", "HEAD")) + 1
    routes = f'ROUTES = ["/widgets"] + [f"/widgets/{{n}}" for n in range(1, {count + 1})]\n'
    readme = INITIAL_FILES["README.md"] + f"\nRoutes: {count} and counting.\n"
    return push_files(
        database,
        world,
        {"src/api/routes.py": routes, "README.md": readme},
        f"demo change {count}: add route /widgets/{count}",
    )


def push_files(
    database: Database, world: DemoWorld, files: dict[str, str], message: str
) -> WebhookEvent:
    """Commit ``files`` on main, push, and ingest the push as GitHub would deliver it."""
    remote = world.remote
    before = remote.head() or ""
    after = remote.commit_and_push(files, message)
    return ingest_push(database, world, before=before, after=after, message=message)


def ingest_push(
    database: Database,
    world: DemoWorld,
    *,
    before: str,
    after: str,
    message: str = "",
    forced: bool = False,
    branch: str = "main",
) -> WebhookEvent:
    """Ingest the push of ``before..after`` to ``branch`` as GitHub would deliver it (same
    validation and deduplication as the receiver)."""
    added, modified, removed = world.remote.changed_paths(before, after)
    payload = push_payload(
        COORDINATE,
        ref=f"refs/heads/{branch}",
        before=before,
        after=after,
        forced=forced,
        commits=[
            commit_entry(
                COORDINATE, after, message, added=added, modified=modified, removed=removed
            )
        ],
    )
    delivery = prepare_delivery(
        event_type="push",
        # Every delivery has a GUID of its own, as GitHub's do (a re-push included).
        delivery_id=f"demo-{uuid.uuid4()}",
        body=json.dumps(payload).encode(),
        headers={"User-Agent": "jrn-dagster-demo"},
    )
    return store_delivery(database, delivery).event
