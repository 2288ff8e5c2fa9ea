"""B7: the impact step's rules, parsed at every run (before) vs stored with each doc version.

    .venv/bin/python -m benchmarks.b7_stored_rules                     # 10,000 and 50,000 docs
    .venv/bin/python -m benchmarks.b7_stored_rules --docs 10000 --postgres

A space of N docs x 10 rules (B2's docs: ``benchmarks/b2_impact_index.py``) and a push of 100
changed files. Measured in one process, on one database:

- **before**: what the impact step did: parse every doc's frontmatter (ruamel) and build the
  report over every rule (``build_impact_report``). Parsing is timed on an evenly spaced sample
  of docs and extrapolated linearly (the printout says so); matching runs on every doc.
- **after**: what it does now: the (no-op) check for docs whose rules are not derived yet,
  ``rule_selection`` (the rules keyed by a changed path or an ancestor directory, the source
  warnings, the problems, the totals) and ``prepare_selected_rules(...).report``. Plus what
  ``sync_docs`` reads now (versions and hashes, no content).

Both reports must be equal (as JSON), or the run fails. The database is filled without YAML
(the rows ``derive_rules`` would store, from the same attention lists), untimed.
"""

import argparse
import gc
import json
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import insert, select

from benchmarks.b2_impact_index import SOURCE, changed_files, doc_attention, doc_text
from benchmarks.support import scratch_postgres
from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.models import DocRow, DocRuleRow
from jrn_dagster.db.repositories.docs import content_sha256, doc_rule_values
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.attention import parse_attention
from jrn_dagster.domain.changes import SourceChanges
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc
from jrn_dagster.domain.impact import (
    build_impact_report,
    changed_paths,
    collector_paused,
    prepare_selected_rules,
)
from jrn_dagster.domain.impact_index import match_keys

T = TypeVar("T")
BATCH = 2000


def timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    print(f"  {label:<58} {elapsed:9.3f} s")
    return result, elapsed


def parsed_without_yaml(k: int) -> ParsedDoc:
    rules, problems = parse_attention(f"docs/d{k:05d}.md", doc_attention(k))
    return ParsedDoc(path=f"docs/d{k:05d}.md", jrn=f"jrn::doc:{k}", rules=rules, problems=problems)


@contextmanager
def scratch_sqlite() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{Path(directory) / 'b6.sqlite'}")
        try:
            upgrade(database)
            yield database
        finally:
            database.dispose()


def fill(database: Database, docs: list[ParsedDoc], texts: dict[str, str]) -> int:
    with database.unit_of_work() as uow:
        space_id = uow.spaces.add("big").id
        uow.commit()
    for start in range(0, len(docs), BATCH):
        chunk = docs[start : start + BATCH]
        with database.unit_of_work() as uow:
            uow.session.execute(
                insert(DocRow),
                [
                    {
                        "space_id": space_id,
                        "path": doc.path,
                        "content": texts[doc.path],
                        "version": 1,
                        "content_sha256": content_sha256(texts[doc.path]),
                        "jrn": doc.jrn,
                        "rule_problems": [],
                        "problem_count": 0,
                        "rules_version": 1,
                    }
                    for doc in chunk
                ],
            )
            ids = dict(
                uow.session.execute(
                    select(DocRow.path, DocRow.id).where(
                        DocRow.space_id == space_id, DocRow.path.in_([d.path for d in chunk])
                    )
                ).all()
            )
            rows = [v for doc in chunk for v in doc_rule_values(ids[doc.path], space_id, doc.rules)]
            uow.session.execute(insert(DocRuleRow), rows)
            uow.commit()
    return space_id


def measure(database: Database, count: int, files: int, sample: int, seed: int) -> None:
    print(f"B7: {count} docs x 10 rules, {files} changed files ({database.engine.dialect.name})")
    texts = {f"docs/d{k:05d}.md": doc_text(k) for k in range(count)}
    docs = [parsed_without_yaml(k) for k in range(count)]
    step = max(1, count // sample)
    sampled = list(texts.items())[::step]
    parsed, sample_seconds = timed(
        f"before: parse {len(sampled)} docs (ruamel)",
        lambda: [parse_doc(path, text) for path, text in sampled],
    )
    by_path = {doc.path: doc for doc in docs}
    for doc in parsed:
        same = by_path[doc.path]
        if (doc.jrn, doc.rules, doc.problems) != (same.jrn, same.rules, same.problems):
            raise SystemExit(f"{doc.path}: the YAML-free doc differs from the parsed one")
    parse_all = sample_seconds * count / len(sampled)
    print(f"  {'before: parse all docs (extrapolated)':<58} {parse_all:9.3f} s")
    rng = random.Random(seed)
    changes = [
        SourceChanges(
            source=SOURCE, files=changed_files(files, rng), base_sha="a" * 40, head_sha="b" * 40
        )
    ]
    bound = [SOURCE.name]
    before, match_seconds = timed(
        "before: build_impact_report over every rule",
        partial(build_impact_report, docs, changes, bound_sources=bound),
    )
    space_id = fill(database, docs, texts)
    # The step runs in a process of its own: the 500,000 parsed rules and the report above
    # would make every garbage collection below walk them.
    before_json = json.dumps(before.to_json_dict(), sort_keys=True)
    before_rules, before_impacted = before.counts.rules, before.counts.impacted_docs
    del texts, docs, parsed, by_path, before
    gc.collect()

    def after_step():
        with database.unit_of_work() as uow:
            uow.docs.derive_stale_rules(space_id)
        # As services/impact.py runs it: the collector paused over the selection and report,
        # and the pass it defers (which the next allocation would run) counted here.
        with collector_paused():
            with database.unit_of_work() as uow:
                selection = uow.docs.rule_selection(
                    space_id, match_keys(changed_paths(changes)), bound
                )
            report = prepare_selected_rules(selection, bound).report(changes)
        gc.collect(0)
        return report, selection

    (after, selection), after_seconds = timed("after: stored rules, selection + report", after_step)
    (after, _), warm_seconds = timed("after: the same, next run in the process", after_step)

    def versions() -> int:
        with database.unit_of_work() as uow:
            return len(uow.docs.versions(space_id))

    timed("after: sync_docs reads versions and hashes (no content)", versions)
    if json.dumps(after.to_json_dict(), sort_keys=True) != before_json:
        raise SystemExit("stored rules and parsed rules disagree")
    assert after.counts.impacted_docs == before_impacted
    loaded = sum(len(doc.rules) for doc in selection.candidates)
    before_total = parse_all + match_seconds
    print(
        f"  rules loaded: {loaded} of {before_rules}; impacted docs: "
        f"{after.counts.impacted_docs}; reports equal: True"
    )
    print(f"  before total (parse + match): {before_total:.3f} s; after: {after_seconds:.3f} s")
    print(f"  ratio before / after: {before_total / after_seconds:.1f}x")
    print(f"  ratio before / after, next run: {before_total / warm_seconds:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, action="append", help="default: 10000 and 50000")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--parse-sample", type=int, default=1000, help="docs parsed with YAML")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for count in args.docs or [10000, 50000]:
        with scratch_postgres() if args.postgres else scratch_sqlite() as database:
            measure(database, count, args.files, args.parse_sample, args.seed)


if __name__ == "__main__":
    main()
