"""Random spaces for the impact index's property tests: docs with rules over a small pool of
paths, and changes of those paths, so that rules and changes overlap."""

from hypothesis import strategies as st

from jrn_dagster.domain.attention import AttentionRule
from jrn_dagster.domain.changes import ChangedFile, ChangeStatus, SourceChanges, SourceRef
from jrn_dagster.domain.frontmatter import ParsedDoc
from jrn_dagster.domain.globs import normalize_glob

API = SourceRef(id=1, name="api", kind="true")
WEB = SourceRef(id=2, name="web", kind="true")
SPEC = SourceRef(id=9, name="spec", kind="virtual")

SEGMENTS = ["src", "a", "b", "lib", "[id]", "(g)", "a+b", ".github", "x.md", "y.ts", "i", "d"]
PATTERN_PARTS = [*SEGMENTS, "*", "**", "?", "*.md", "*.ts", "{a,b}", "[ab]", "[id]", "{src,lib}"]
# Globs whose file name has a literal head (the index files them by it), or sets and braces
# before it.
PATTERN_PARTS += ["x*", "y*.ts", "x.m?", "[xy]*", "{x,y}*", "i*d", "\\[id\\]*"]
SOURCES = [API, WEB, SPEC]

WILDCARDS = ["*", "**", "?", "*.md", "*.ts", "{a,b}", "[ab]", "{src,lib}", "[id]"]
paths = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4).map("/".join)


@st.composite
def patterns(draw: st.DrawFn, pool: list[str]) -> str:
    """Half the time a path of the pool with some segments turned into wildcards (so rules
    and changes overlap), otherwise any combination of segments and wildcards."""
    if pool and draw(st.booleans()):
        parts = draw(st.sampled_from(pool)).split("/")
        parts = [draw(st.sampled_from(WILDCARDS)) if draw(st.booleans()) else p for p in parts]
        if draw(st.booleans()):
            parts.insert(0, "**")
        return "/".join(parts)
    return draw(st.lists(st.sampled_from(PATTERN_PARTS), min_size=1, max_size=4).map("/".join))


@st.composite
def changed_files(draw: st.DrawFn, pool: list[str]) -> ChangedFile:
    path = draw(st.sampled_from(pool))
    status = draw(st.sampled_from(list(ChangeStatus)))
    if status in {ChangeStatus.RENAMED, ChangeStatus.COPIED}:
        old = draw(st.sampled_from(pool))
        return ChangedFile(path=path, status=status, old_path=old, similarity=80)
    return ChangedFile(path=path, status=status)


@st.composite
def rules(draw: st.DrawFn, index: int, pool: list[str]) -> AttentionRule:
    source = draw(st.sampled_from([None, None, "api", "web", "spec", "unbound"]))
    keywords = draw(st.sampled_from([(), (), ("md",), ("src", "zzz")]))
    return AttentionRule(
        index=index,
        path=normalize_glob(draw(patterns(pool))),
        source=source,
        keywords=keywords,
    )


@st.composite
def spaces(draw: st.DrawFn) -> tuple[list[ParsedDoc], list[SourceChanges], list[str]]:
    pool = draw(st.lists(paths, min_size=1, max_size=8, unique=True))
    docs = []
    for d in range(draw(st.integers(1, 6))):
        count = draw(st.integers(0, 5))
        docs.append(ParsedDoc(path=f"d{d}.md", rules=[draw(rules(i, pool)) for i in range(count)]))
    bound = draw(st.sampled_from([["api"], ["api"], ["api", "web"], ["api", "spec"], ["web"]]))
    changes_ = [
        SourceChanges(
            source=source,
            files=draw(st.lists(changed_files(pool), min_size=source is API, max_size=8)),
        )
        for source in SOURCES
        if source is API or draw(st.booleans())
    ]
    return docs, changes_, bound


def diff_text(source_name: str, path: str) -> str | None:
    # deterministic: no diff for "binary" .md files, else a diff mentioning the path
    return None if path.endswith(".md") else f"+++ {source_name}/{path}"
