"""What a doc's proposal covers when it takes an open one over (docs/decisions.md, "One open
proposal per doc")."""

from jrn_dagster.domain.covers import (
    MAX_COVERS_PER_DOC,
    MAX_FILES_PER_COVER,
    CoveredChange,
    carry_covers,
    union_by_source,
)


def change(source: str, base: str | None, head: str, *files: str) -> CoveredChange:
    return CoveredChange(source_name=source, base_sha=base, head_sha=head, changed_files=[*files])


def test_the_union_spans_the_oldest_base_to_the_newest_head_per_source() -> None:
    covers = carry_covers(
        [change("api", "a", "b", "x.py"), change("web", None, "w", "page.tsx")],
        [change("api", "b", "c", "y.py", "x.py")],
    )
    unions = union_by_source(covers)
    assert (unions["api"].base_sha, unions["api"].head_sha, unions["api"].ranges) == ("a", "c", 2)
    assert unions["api"].changed_files == ["x.py", "y.py"]
    assert (unions["web"].base_sha, unions["web"].head_sha) == (None, "w")


def test_carrying_is_idempotent_and_bounded() -> None:
    first = change("api", "a", "b", *(f"f{n}" for n in range(MAX_FILES_PER_COVER + 5)))
    again = carry_covers([first], [first])
    assert len(again) == 1 and len(again[0].changed_files) == MAX_FILES_PER_COVER
    many = [change("api", str(n), str(n + 1)) for n in range(MAX_COVERS_PER_DOC + 10)]
    kept = carry_covers(many[:1], many[1:])
    assert len(kept) == MAX_COVERS_PER_DOC
    assert kept[0] == many[0] and kept[-1] == many[-1]  # the oldest base, the newest head
