import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from jrn_dagster.db.models import DocRow, DocRuleRow
from jrn_dagster.domain.attention import AttentionRule, DocProblem
from jrn_dagster.domain.errors import InvalidInputError, NotFoundError
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc
from jrn_dagster.domain.globs import rule_match_key
from jrn_dagster.domain.impact import RuleSelection, RuleTotals
from jrn_dagster.domain.records import Doc, DocVersion
from jrn_dagster.domain.validation import normalize_relative_path, parent_directories

# Bound parameters per IN list: far below SQLite's and PostgreSQL's limits.
_KEYS_PER_QUERY = 500


def content_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class DocRepository:
    """The versioned doc store: every change of content bumps ``version``, and the doc's
    frontmatter is parsed then, once (docs/attention-rules.md#stored-rules)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def put(self, space_id: int, path: str, content: str) -> Doc:
        """Create or replace a doc. Writing the same content again is a no-op (same version).
        A new doc whose path clashes with another doc's (``guide`` beside ``guide/intro.md``) is
        refused: the two cannot both be files in the sandbox."""
        path = normalize_relative_path(path)
        row = self._row(space_id, path)
        if row is None:
            clash = self.clashing_path(space_id, path)
            if clash is not None:
                raise InvalidInputError(
                    f"doc path {path!r} clashes with doc {clash!r} of the same space: a path "
                    "cannot be both a doc and a directory of docs"
                )
            row = DocRow(space_id=space_id, path=path, content=content, version=1)
            self._session.add(row)
        elif row.content != content:
            row.content = content
            row.version += 1
        elif row.rules_version == row.version:
            return Doc.model_validate(row)
        self.derive_rules(row)
        return Doc.model_validate(row)

    def derive_rules(self, row: DocRow) -> ParsedDoc:
        """Parse the row's content and store its hash, its JRN, its problems and its valid
        rules, as of its version. Every writer of ``docs.content`` calls it."""
        parsed = parse_doc(row.path, row.content)
        row.content_sha256 = content_sha256(row.content)
        row.jrn = parsed.jrn
        row.rule_problems = [problem.model_dump(mode="json") for problem in parsed.problems]
        row.problem_count = len(parsed.problems)
        row.rules_version = row.version
        self._session.flush()  # a new row gets its id
        self._session.execute(delete(DocRuleRow).where(DocRuleRow.doc_id == row.id))
        if parsed.rules:
            self._session.execute(
                insert(DocRuleRow), doc_rule_values(row.id, row.space_id, parsed.rules)
            )
        return parsed

    def derive_stale_rules(self, space_id: int) -> int:
        """Derive the rules of every doc of the space whose stored rules are missing or behind
        its version (docs written before they were stored); how many were derived. Each doc is
        claimed with a compare-and-swap on ``rules_version``, so two runs deriving at once do
        each doc once."""
        stale = self._session.execute(
            select(DocRow.id, DocRow.version).where(
                DocRow.space_id == space_id,
                or_(DocRow.rules_version.is_(None), DocRow.rules_version != DocRow.version),
            )
        ).all()
        derived = 0
        for doc_id, version in stale:
            claimed = self._session.execute(
                update(DocRow)
                .where(
                    DocRow.id == doc_id,
                    DocRow.version == version,
                    or_(DocRow.rules_version.is_(None), DocRow.rules_version != version),
                )
                .values(rules_version=version)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined] - derived or changed meanwhile
                continue
            row = self._session.get(DocRow, doc_id, populate_existing=True)
            if row is not None:
                self.derive_rules(row)
                derived += 1
        return derived

    def get(self, space_id: int, path: str) -> Doc:
        row = self._row(space_id, normalize_relative_path(path))
        if row is None:
            raise NotFoundError(f"doc {path!r} does not exist in space {space_id}")
        return Doc.model_validate(row)

    def find(self, space_id: int, path: str) -> Doc | None:
        row = self._row(space_id, normalize_relative_path(path))
        return Doc.model_validate(row) if row is not None else None

    def all(self, space_id: int) -> list[Doc]:
        rows = self._session.scalars(
            select(DocRow).where(DocRow.space_id == space_id).order_by(DocRow.path)
        )
        return [Doc.model_validate(row) for row in rows]

    def with_paths(self, space_id: int, paths: Collection[str]) -> list[Doc]:
        """The docs of the space among ``paths``, by path."""
        docs: list[Doc] = []
        for chunk in _chunks(sorted(set(paths))):
            rows = self._session.scalars(
                select(DocRow).where(DocRow.space_id == space_id, DocRow.path.in_(chunk))
            )
            docs.extend(Doc.model_validate(row) for row in rows)
        return sorted(docs, key=lambda doc: doc.path)

    def versions(self, space_id: int) -> list[DocVersion]:
        """Path, version and content hash of every doc, by path, without reading content."""
        rows = self._session.execute(
            select(DocRow.path, DocRow.version, DocRow.content_sha256)
            .where(DocRow.space_id == space_id)
            .order_by(DocRow.path)
        )
        return [
            DocVersion.model_construct(path=path, version=version, content_sha256=digest)
            for path, version, digest in rows
        ]

    def parsed(self, space_id: int) -> list[ParsedDoc]:
        """Every doc as its stored rules say, by path, without writing: a doc whose rules are
        not derived yet (``derive_stale_rules`` does that) is parsed here, in memory."""
        rules = self._rules_by_doc(DocRuleRow.space_id == space_id)
        rows = self._session.execute(
            select(
                DocRow.id,
                DocRow.path,
                DocRow.jrn,
                DocRow.rule_problems,
                DocRow.rules_version.is_not(None) & (DocRow.rules_version == DocRow.version),
            )
            .where(DocRow.space_id == space_id)
            .order_by(DocRow.path)
        )
        return [
            _parsed(path, jrn, rules.get(doc_id, []), problems or [])
            if derived
            else self._parse_now(doc_id)
            for doc_id, path, jrn, problems, derived in rows
        ]

    def _parse_now(self, doc_id: int) -> ParsedDoc:
        path, content = self._session.execute(
            select(DocRow.path, DocRow.content).where(DocRow.id == doc_id)
        ).one()
        return parse_doc(path, content)

    def rule_selection(
        self, space_id: int, keys: Collection[str], bound_sources: Collection[str]
    ) -> RuleSelection:
        """What one set of changes needs of the space's stored rules (``RuleSelection``):
        the rules keyed by ``keys`` (``impact_index.match_keys`` of the changed paths), the
        rules that get a source warning, the docs' problems, and the space's totals."""
        candidates: dict[int, list[AttentionRule]] = defaultdict(list)
        for chunk in _chunks(sorted(set(keys))):
            for doc_id, found in self._rules_by_doc(
                DocRuleRow.space_id == space_id, DocRuleRow.match_key.in_(chunk)
            ).items():
                candidates[doc_id].extend(found)
        unusable = self._rules_by_doc(
            DocRuleRow.space_id == space_id, _unusable(sorted(set(bound_sources)))
        )
        return RuleSelection(
            candidates=self._docs_with(space_id, candidates),
            unusable=self._docs_with(space_id, unusable),
            with_problems=self._docs_with_problems(space_id),
            totals=self._totals(space_id),
        )

    def paths_naming_sources(
        self, space_id: int, source_names: Collection[str]
    ) -> dict[str, list[str]]:
        """Source name (of ``source_names``) -> the paths of the docs whose stored rules name it
        explicitly, sorted."""
        if not source_names:
            return {}
        rows = self._session.execute(
            select(DocRuleRow.source, DocRow.path)
            .join(DocRow, DocRow.id == DocRuleRow.doc_id)
            .where(
                DocRuleRow.space_id == space_id,
                # Spelled out so that both databases use the partial index over named sources.
                DocRuleRow.source.is_not(None),
                DocRuleRow.source.in_(sorted(source_names)),
            )
            .distinct()
            .order_by(DocRuleRow.source, DocRow.path)
        )
        naming: dict[str, list[str]] = defaultdict(list)
        for source, path in rows:
            if source is not None:  # the query keeps NULLs out; this tells the type checker
                naming[source].append(path)
        return dict(naming)

    def clashing_path(self, space_id: int, path: str) -> str | None:
        """A doc of the space named like a directory of ``path``, or inside a directory named
        ``path`` (see ``domain.paths.file_and_directory_clash``); None when there is none."""
        return self._session.scalar(
            select(DocRow.path)
            .where(
                DocRow.space_id == space_id,
                or_(
                    DocRow.path.in_(parent_directories(path)),
                    DocRow.path.startswith(path + "/", autoescape=True),
                ),
            )
            .order_by(DocRow.path)
            .limit(1)
        )

    def _row(self, space_id: int, path: str) -> DocRow | None:
        return self._session.scalar(
            select(DocRow).where(DocRow.space_id == space_id, DocRow.path == path)
        )

    def _rules_by_doc(self, *where: ColumnElement[bool]) -> dict[int, list[AttentionRule]]:
        rows = self._session.execute(
            select(
                DocRuleRow.doc_id,
                DocRuleRow.rule_index,
                DocRuleRow.path,
                DocRuleRow.source,
                DocRuleRow.keywords,
            )
            .where(*where)
            .order_by(DocRuleRow.doc_id, DocRuleRow.rule_index)
        )
        rules: dict[int, list[AttentionRule]] = defaultdict(list)
        # Docs of a space repeat their rules (a service's docs all watch its models/**): one
        # frozen AttentionRule per distinct rule, which is most of the cost of loading them.
        distinct: dict[tuple[int, str, str | None, tuple[str, ...]], AttentionRule] = {}
        for doc_id, index, path, source, keywords in rows:
            key = (index, path, source, () if keywords == "[]" else tuple(json.loads(keywords)))
            rule = distinct.get(key)
            if rule is None:
                # Validated when the doc was written (derive_rules): constructing skips the
                # glob validation.
                rule = distinct[key] = AttentionRule.model_construct(
                    index=index, op="file", path=path, source=source, keywords=key[3]
                )
            rules[doc_id].append(rule)
        return rules

    def _docs_with(self, space_id: int, rules: dict[int, list[AttentionRule]]) -> list[ParsedDoc]:
        docs: list[ParsedDoc] = []
        for chunk in _chunks(sorted(rules)):
            rows = self._session.execute(
                select(DocRow.id, DocRow.path, DocRow.jrn).where(
                    DocRow.space_id == space_id, DocRow.id.in_(chunk)
                )
            )
            docs.extend(_parsed(path, jrn, rules[doc_id], []) for doc_id, path, jrn in rows)
        return sorted(docs, key=lambda doc: doc.path)

    def _docs_with_problems(self, space_id: int) -> list[ParsedDoc]:
        rows = self._session.execute(
            select(DocRow.path, DocRow.jrn, DocRow.rule_problems)
            .where(DocRow.space_id == space_id, DocRow.problem_count > 0)
            .order_by(DocRow.path)
        )
        return [_parsed(path, jrn, [], problems or []) for path, jrn, problems in rows]

    def _totals(self, space_id: int) -> RuleTotals:
        docs, with_problems = self._session.execute(
            select(
                func.count(DocRow.id),
                func.count(DocRow.id).filter(DocRow.problem_count > 0),
            ).where(DocRow.space_id == space_id)
        ).one()
        rules = self._session.scalar(
            select(func.count(DocRuleRow.id)).where(DocRuleRow.space_id == space_id)
        )
        return RuleTotals(docs=docs, docs_with_problems=with_problems, rules=rules or 0)


def doc_rule_values(
    doc_id: int, space_id: int, rules: Iterable[AttentionRule]
) -> list[dict[str, object]]:
    """The ``doc_rules`` rows of a doc's valid rules."""
    return [
        {
            "doc_id": doc_id,
            "space_id": space_id,
            "rule_index": rule.index,
            "path": rule.path,
            "source": rule.source,
            "keywords": json.dumps(list(rule.keywords)),
            "match_key": rule_match_key(rule.path),
        }
        for rule in rules
    ]


def _unusable(bound: list[str]) -> ColumnElement[bool]:
    """Rules ``resolve_rules`` skips with a warning, as SQL (domain/impact.py)."""
    if len(bound) == 1:
        return DocRuleRow.source.is_not(None) & (DocRuleRow.source != bound[0])
    if not bound:
        return true()
    return DocRuleRow.source.is_(None) | DocRuleRow.source.not_in(bound)


def _parsed(
    path: str, jrn: str | None, rules: list[AttentionRule], problems: Iterable[dict[str, object]]
) -> ParsedDoc:
    return ParsedDoc.model_construct(
        path=path,
        jrn=jrn,
        rules=rules,
        problems=[DocProblem.model_validate(problem) for problem in problems],
    )  # where the body starts is not stored: readers of stored rules never need it


def _chunks(values: list[str] | list[int]) -> Iterator[list]:
    for start in range(0, len(values), _KEYS_PER_QUERY):
        yield values[start : start + _KEYS_PER_QUERY]
