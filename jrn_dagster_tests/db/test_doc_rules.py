"""Attention rules are parsed when a doc is written and stored with its version
(docs/attention-rules.md#stored-rules); a run reads the part its changes need."""

from sqlalchemy import delete, select, update

from jrn_dagster.db.models import DocRow, DocRuleRow
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain import frontmatter
from jrn_dagster.domain.attention import ProblemCode
from jrn_dagster.domain.changes import ChangedFile, ChangeStatus, SourceChanges, SourceRef
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc
from jrn_dagster.domain.impact import (
    build_impact_report,
    changed_paths,
    prepare_selected_rules,
)
from jrn_dagster.domain.impact_index import match_keys
from jrn_dagster.domain.records import ChangesetDoc

API = SourceRef(id=1, name="api", kind="true")
WEB = SourceRef(id=2, name="web", kind="true")

DOCS = {
    "api.md": "---\njrn: jrn::api\nattention:\n  - {op: file, path: src/api/**/*.py}\n"
    "  - {op: file, path: src/api/routes.py, keywords: [route]}\n---\n# API\n",
    "web.md": "---\nattention:\n  - {op: file, path: 'pages/[id].tsx', source: web}\n"
    "  - {op: file, path: '**/*.proto'}\n---\n",
    "broken.md": "---\nattention:\n  - {op: file}\n  - {op: file, path: src/x.py}\n"
    "  - {op: file, path: README.md, source: nowhere}\n---\n",
    "bad-yaml.md": "---\nattention: [\n---\n",
    "plain.md": "# No frontmatter\n",
}
CHANGES = [
    SourceChanges(
        source=API,
        files=[
            ChangedFile(path="src/api/routes.py", status=ChangeStatus.MODIFIED),
            ChangedFile(path="src/x.py", status=ChangeStatus.ADDED),
            ChangedFile(
                path="proto/a.proto", status=ChangeStatus.RENAMED, old_path="src/api/old.py"
            ),
        ],
    ),
    SourceChanges(
        source=WEB,
        files=[ChangedFile(path="pages/i.tsx", status=ChangeStatus.MODIFIED)],
    ),
]


def _space(database: Database, docs: dict[str, str] = DOCS) -> int:
    with database.unit_of_work() as uow:
        space = uow.spaces.add("docs")
        for path, content in docs.items():
            uow.docs.put(space.id, path, content)
        uow.commit()
    return space.id


def _rule_rows(database: Database, space_id: int) -> dict[str, tuple[int | None, list[str]]]:
    with database.unit_of_work() as uow:
        session = uow.session
        rows = session.execute(
            select(DocRow.path, DocRow.rules_version, DocRuleRow.path)
            .outerjoin(DocRuleRow, DocRuleRow.doc_id == DocRow.id)
            .where(DocRow.space_id == space_id)
            .order_by(DocRow.path, DocRuleRow.rule_index)
        ).all()
    found: dict[str, tuple[int | None, list[str]]] = {}
    for path, rules_version, rule in rows:
        _, rules = found.setdefault(path, (rules_version, []))
        if rule is not None:
            rules.append(rule)
    return found


def _rules_of(docs: list[ParsedDoc]) -> list[tuple[object, ...]]:
    return [(doc.path, doc.jrn, doc.rules, doc.problems) for doc in docs]


def test_rules_are_stored_with_the_version_they_were_parsed_from(database: Database) -> None:
    space_id = _space(database)
    rows = _rule_rows(database, space_id)
    assert rows["api.md"] == (1, ["src/api/**/*.py", "src/api/routes.py"])
    assert rows["plain.md"] == (1, [])
    with database.unit_of_work() as uow:
        uow.docs.put(space_id, "api.md", "---\nattention: [{op: file, path: lib/}]\n---\n")
        uow.docs.put(space_id, "web.md", DOCS["web.md"])  # same content: nothing changes
        uow.commit()
    rows = _rule_rows(database, space_id)
    assert rows["api.md"] == (2, ["lib/**"])
    assert rows["web.md"] == (1, ["pages/[id].tsx", "**/*.proto"])
    with database.unit_of_work() as uow:
        [api] = [doc for doc in uow.docs.parsed(space_id) if doc.path == "api.md"]
        assert api.jrn is None and [r.path for r in api.rules] == ["lib/**"]


def test_invalid_rules_are_stored_and_reported_as_when_parsed(database: Database) -> None:
    space_id = _space(database)
    with database.unit_of_work() as uow:
        stored = {doc.path: doc for doc in uow.docs.parsed(space_id)}
    for path, content in DOCS.items():
        parsed = parse_doc(path, content)
        assert stored[path].problems == parsed.problems, path
        assert stored[path].rules == parsed.rules, path
        assert stored[path].jrn == parsed.jrn, path
    assert [p.code for p in stored["bad-yaml.md"].problems] == [ProblemCode.INVALID_YAML]
    assert [p.rule_index for p in stored["broken.md"].problems] == [0]


def test_a_selection_reports_what_every_parsed_doc_reports(database: Database) -> None:
    space_id = _space(database)
    parsed = [parse_doc(path, content) for path, content in sorted(DOCS.items())]

    def lookup(source: str, path: str) -> str | None:
        return "+ route" if path.endswith("routes.py") else None

    keys = match_keys(changed_paths(CHANGES))
    impacted = {}
    for bound in (["api"], ["api", "web"], [], ["web", "api", "other"]):
        relevant = [c for c in CHANGES if c.source.name in bound] or CHANGES[:1]
        expected = build_impact_report(parsed, relevant, bound_sources=bound, keyword_lookup=lookup)
        with database.unit_of_work() as uow:
            selection = uow.docs.rule_selection(space_id, keys, bound)
        report = prepare_selected_rules(selection, bound).report(relevant, keyword_lookup=lookup)
        assert report.to_json_dict() == expected.to_json_dict(), bound
        impacted[len(bound)] = [doc.path for doc in report.impacted]
    assert impacted[1] == ["api.md", "broken.md", "web.md"]  # source-less rules: api's
    assert impacted[2] == ["web.md"]  # source-less rules are ambiguous with two sources


def test_changeset_apply_stores_the_rules_of_the_written_version(database: Database) -> None:
    space_id = _space(database)
    with database.unit_of_work() as uow:
        changeset, _ = uow.changesets.create_once(
            key="k",
            space_id=space_id,
            summary="rules",
            docs=[
                ChangesetDoc(
                    path="api.md",
                    base_version=1,
                    proposed_content="---\nattention: [{op: file, path: src/v2/*.py}]\n---\n",
                ),
                ChangesetDoc(
                    path="new.md",
                    base_version=None,
                    proposed_content="---\nattention: [{op: file, path: a, bad: 1}]\n---\n",
                ),
            ],
            dagster_run_id="run-1",
        )
        assert uow.changesets.apply(changeset.id).applied
        uow.commit()
    rows = _rule_rows(database, space_id)
    assert rows["api.md"] == (2, ["src/v2/*.py"])
    assert rows["new.md"] == (1, [])
    with database.unit_of_work() as uow:
        [new] = [doc for doc in uow.docs.parsed(space_id) if doc.path == "new.md"]
    assert [p.code for p in new.problems] == [ProblemCode.INVALID_RULE]


def test_docs_stored_before_their_rules_are_derived_once(database: Database) -> None:
    space_id = _space(database)
    with database.unit_of_work() as uow:
        before = uow.docs.parsed(space_id)
        uow.session.execute(delete(DocRuleRow))
        uow.session.execute(update(DocRow).values(rules_version=None, problem_count=0))
        uow.commit()
    with database.unit_of_work() as uow:
        # parsed in memory, nothing written
        assert _rules_of(uow.docs.parsed(space_id)) == _rules_of(before)
    with database.unit_of_work() as uow:
        assert uow.docs.derive_stale_rules(space_id) == len(DOCS)
        uow.commit()
    with database.unit_of_work() as uow:
        assert uow.docs.derive_stale_rules(space_id) == 0
        assert uow.docs.parsed(space_id) == before
    assert _rule_rows(database, space_id)["api.md"] == (1, ["src/api/**/*.py", "src/api/routes.py"])


def test_reading_stored_rules_parses_no_yaml(database: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    space_id = _space(database)
    loads: list[int] = []
    original = frontmatter._yaml
    monkeypatch.setattr(frontmatter, "_yaml", lambda: loads.append(1) or original())
    with database.unit_of_work() as uow:
        uow.docs.derive_stale_rules(space_id)
        uow.docs.parsed(space_id)
        selection = uow.docs.rule_selection(space_id, match_keys(changed_paths(CHANGES)), ["api"])
    prepare_selected_rules(selection, ["api"]).report(CHANGES[:1])
    assert loads == []
