"""What a doc's open proposal covers, and how a newer proposal for the same doc takes it over
(docs/decisions.md, "One open proposal per doc").

A proposal for a doc records, per source, the ranges it was computed for and the changed files
that made the doc impacted (``CoveredChange``). A newer run that impacts a doc with an open
proposal computes its proposal on the doc's current version for the union of both: the old
ranges' changes are carried in (``carry_covers``), and the notice spans from the oldest base to
the newest head (``union_by_source``).
"""

from collections.abc import Iterable, Sequence

from jrn_dagster.domain.base import CamelModel

# Bounds on what one doc's proposal carries, however many proposals it takes over.
MAX_COVERS_PER_DOC = 50
MAX_FILES_PER_COVER = 200


class CoveredChange(CamelModel):
    """One range of one source a doc's proposal covers, and the changed files that made the
    doc impacted in it."""

    source_name: str
    repo: str | None = None  # host/owner/repo, for the compare link
    base_sha: str | None  # None: the whole head tree (no earlier commit to compare with)
    head_sha: str
    changed_files: list[str]


class SourceUnion(CamelModel):
    """One source's share of a doc's proposal: from the oldest base to the newest head."""

    source_name: str
    repo: str | None
    base_sha: str | None
    head_sha: str
    changed_files: list[str]
    ranges: int  # how many ranges it spans


def bounded(change: CoveredChange) -> CoveredChange:
    files = sorted(set(change.changed_files))[:MAX_FILES_PER_COVER]
    return change.model_copy(update={"changed_files": files})


def carry_covers(
    earlier: Sequence[CoveredChange], newer: Sequence[CoveredChange]
) -> list[CoveredChange]:
    """``earlier`` (oldest first) then ``newer``, without repeats, at most
    ``MAX_COVERS_PER_DOC``: the oldest is kept (it gives the notice its base), then the newest."""
    seen: set[tuple[str, str | None, str]] = set()
    merged: list[CoveredChange] = []
    for change in (*earlier, *newer):
        key = (change.source_name, change.base_sha, change.head_sha)
        if key not in seen:
            seen.add(key)
            merged.append(bounded(change))
    if len(merged) > MAX_COVERS_PER_DOC:
        merged = [merged[0], *merged[-(MAX_COVERS_PER_DOC - 1) :]]
    return merged


def union_by_source(covers: Iterable[CoveredChange]) -> dict[str, SourceUnion]:
    """Per source name, in order of ``covers`` (oldest first): the first range's base, the last
    range's head, every changed file."""
    unions: dict[str, SourceUnion] = {}
    for change in covers:
        known = unions.get(change.source_name)
        if known is None:
            unions[change.source_name] = SourceUnion(
                source_name=change.source_name,
                repo=change.repo,
                base_sha=change.base_sha,
                head_sha=change.head_sha,
                changed_files=sorted(set(change.changed_files)),
                ranges=1,
            )
            continue
        unions[change.source_name] = known.model_copy(
            update={
                "head_sha": change.head_sha,
                "repo": change.repo or known.repo,
                "changed_files": sorted({*known.changed_files, *change.changed_files}),
                "ranges": known.ranges + 1,
            }
        )
    return unions
