"""Changesets: created once per key, applied with a compare-and-swap on every doc version."""

import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.errors import ConflictError
from jrn_dagster.domain.records import ChangesetDoc, ChangesetStatus
from jrn_dagster_tests.support.cli import cli_json, run_cli


def _space_with_docs(database: Database) -> int:
    with database.unit_of_work() as uow:
        space = uow.spaces.add("docs")
        uow.docs.put(space.id, "a.md", "# A\n")
        uow.docs.put(space.id, "b.md", "# B\n")
        uow.commit()
    return space.id


def _propose(database: Database, space_id: int, key: str = "k") -> int:
    with database.unit_of_work() as uow:
        changeset, _ = uow.changesets.create_once(
            key=key,
            space_id=space_id,
            summary="two docs",
            docs=[
                ChangesetDoc(path="a.md", base_version=1, proposed_content="# A, updated\n"),
                ChangesetDoc(path="new.md", base_version=None, proposed_content="# New\n"),
            ],
            dagster_run_id="run-1",
        )
        uow.commit()
    return changeset.id


def test_create_once_per_key(database: Database) -> None:
    space_id = _space_with_docs(database)
    first = _propose(database, space_id)
    assert _propose(database, space_id) == first
    with database.unit_of_work() as uow:
        [changeset] = uow.changesets.all()
        assert [d.path for d in changeset.docs] == ["a.md", "new.md"]
        empty, created = uow.changesets.create_once(
            key="nothing", space_id=space_id, summary="", docs=[], dagster_run_id=None
        )
        assert created and empty.status is ChangesetStatus.EMPTY


def test_apply_writes_every_doc(database: Database) -> None:
    space_id = _space_with_docs(database)
    changeset_id = _propose(database, space_id)
    result = run_cli(database.url, "changesets", "apply", str(changeset_id))
    assert result.exit_code == 0, result.output
    with database.unit_of_work() as uow:
        docs = {d.path: (d.version, d.content) for d in uow.docs.all(space_id)}
        assert docs == {
            "a.md": (2, "# A, updated\n"),
            "b.md": (1, "# B\n"),
            "new.md": (1, "# New\n"),
        }
        assert uow.changesets.get(changeset_id).status is ChangesetStatus.APPLIED
    again = run_cli(database.url, "changesets", "apply", str(changeset_id))
    assert again.exit_code == 2 and "is applied, not open" in again.stderr


def test_a_doc_changed_since_is_a_conflict_and_nothing_is_written(database: Database) -> None:
    space_id = _space_with_docs(database)
    changeset_id = _propose(database, space_id)
    with database.unit_of_work() as uow:
        uow.docs.put(space_id, "a.md", "# A, edited by a human\n")  # version 2
        uow.commit()
    result = run_cli(database.url, "changesets", "apply", str(changeset_id))
    assert result.exit_code == 3
    assert "a.md: changed since version 1 (now 2)" in result.stderr
    with database.unit_of_work() as uow:
        docs = {d.path: (d.version, d.content) for d in uow.docs.all(space_id)}
        assert docs == {"a.md": (2, "# A, edited by a human\n"), "b.md": (1, "# B\n")}
        assert uow.changesets.get(changeset_id).status is ChangesetStatus.OPEN


def test_a_doc_created_meanwhile_is_a_conflict(database: Database) -> None:
    space_id = _space_with_docs(database)
    changeset_id = _propose(database, space_id)
    with database.unit_of_work() as uow:
        uow.docs.put(space_id, "new.md", "# Someone else's\n")
        uow.commit()
    result = run_cli(database.url, "changesets", "apply", str(changeset_id))
    assert result.exit_code == 3 and "new.md: created meanwhile" in result.stderr


@pytest.mark.parametrize(
    ("proposed", "clash"),
    [
        (["guide/intro.md"], "guide"),  # a new doc inside a doc of the space
        (["a.md/notes.md"], "a.md"),
        (["b/c.md", "b"], "b"),  # two new docs of the changeset clash with each other
    ],
)
def test_a_new_doc_that_clashes_with_a_doc_path_is_a_conflict(
    database: Database, proposed: list[str], clash: str
) -> None:
    space_id = _space_with_docs(database)
    with database.unit_of_work() as uow:
        uow.docs.put(space_id, "guide", "# Guide\n")
        changeset, _ = uow.changesets.create_once(
            key="clash",
            space_id=space_id,
            summary="clash",
            docs=[
                ChangesetDoc(path="a.md", base_version=1, proposed_content="# A, updated\n"),
                *(
                    ChangesetDoc(path=p, base_version=None, proposed_content="# P\n")
                    for p in proposed
                ),
            ],
            dagster_run_id=None,
        )
        uow.commit()
    result = run_cli(database.url, "changesets", "apply", str(changeset.id))
    assert result.exit_code == 3
    [line] = result.stderr.strip().splitlines()
    assert (
        f"{proposed[0]}: clashes with doc {clash!r} (a path cannot be both a doc and a "
        "directory of docs)"
    ) in line
    with database.unit_of_work() as uow:
        assert {d.path: d.version for d in uow.docs.all(space_id)} == {
            "a.md": 1,
            "b.md": 1,
            "guide": 1,
        }
        assert uow.changesets.get(changeset.id).status is ChangesetStatus.OPEN


def test_list_show_reject(database: Database) -> None:
    space_id = _space_with_docs(database)
    changeset_id = _propose(database, space_id)
    listed = cli_json(database.url, "changesets", "list", "--space", "docs")
    assert [(c["id"], c["status"], c["docs"]) for c in listed] == [
        (changeset_id, "open", ["a.md", "new.md"])
    ]
    shown = run_cli(database.url, "changesets", "show", str(changeset_id))
    assert "=== a.md (proposed over version 1) ===" in shown.stdout
    assert "# A, updated" in shown.stdout
    assert run_cli(database.url, "changesets", "reject", str(changeset_id)).exit_code == 0
    assert cli_json(database.url, "changesets", "list", "--status", "open") == []


def test_a_new_proposal_supersedes_the_whole_open_changeset_and_carries_its_other_docs(
    database: Database,
) -> None:
    """docs/decisions.md, "One open proposal per doc": the old changeset proposed a.md and
    new.md; the new one proposes a.md only. The old one is superseded as a whole and new.md is
    carried over unchanged; creating the new one again (a re-execution) changes nothing."""
    space_id = _space_with_docs(database)
    old_id = _propose(database, space_id, key="old")
    newer = [ChangesetDoc(path="a.md", base_version=1, proposed_content="# A, newer\n")]
    for _ in range(2):
        with database.unit_of_work() as uow:
            changeset, created = uow.changesets.create_once(
                key="new", space_id=space_id, summary="one doc", docs=newer, dagster_run_id=None
            )
            if created:
                assert uow.changesets.supersede_open(changeset.id) == [old_id]
            uow.commit()
    with database.unit_of_work() as uow:
        old, new = uow.changesets.all(space_id=space_id)
        open_proposals = uow.changesets.open_proposals(space_id, ["a.md", "new.md", "b.md"])
    assert (old.status, old.superseded_by) == (ChangesetStatus.SUPERSEDED, new.id)
    assert {d.path: d.proposed_content for d in new.docs} == {
        "a.md": "# A, newer\n",
        "new.md": "# New\n",
    }
    assert {path: p.changeset_id for path, p in open_proposals.items()} == {
        "a.md": new.id,
        "new.md": new.id,
    }
    assert new.summary == f"one doc; supersedes changeset(s) {old_id}"
    with (
        database.unit_of_work() as uow,
        pytest.raises(ConflictError, match=f"superseded by changeset {new.id}"),
    ):
        uow.changesets.reject(old_id)
