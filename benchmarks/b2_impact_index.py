"""B2: the attention index against a naive per-rule loop, in one run.

    .venv/bin/python -m benchmarks.b2_impact_index                 # naive loop on 10% of docs
    .venv/bin/python -m benchmarks.b2_impact_index --naive-docs 5000  # naive loop on all docs

5,000 docs x 10 rules against 10,000 changed files of a synthetic monorepo (200 services, a
Next.js app with ``(group)``/``[slug]`` directories, renames, deletions, keyword rules).
The index is timed on all docs: ``build_impact_report`` end to end (rule resolution, index
build, lazy wcmatch compiles, matching, keyword checks, evidence). The naive loop tests every
rule against every changed file with the rule's own wcmatch matcher; its cost is linear in
the number of rules, so by default it runs on an evenly spaced sample of docs and is
extrapolated (the printout says which). Both results are compared on the sampled docs.
"""

import argparse
import gc
import random
import re
import time
from collections.abc import Callable
from typing import TypeVar

from wcmatch import _wcparse

from jrn_dagster.domain.changes import ChangedFile, ChangeStatus, SourceChanges, SourceRef
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc
from jrn_dagster.domain.impact import build_impact_report
from jrn_dagster_tests.support.naive_impact import naive_matches, report_matches

SERVICES = 200
GROUPS = 50
SOURCE = SourceRef(id=1, name="monorepo", kind="true")
T = TypeVar("T")


def repository_files() -> list[str]:
    files: list[str] = []
    for s in range(SERVICES):
        root = f"services/svc{s:03d}"
        files += [f"{root}/src/handlers/h{j}.ts" for j in range(40)]
        files += [f"{root}/src/handlers/h{j}.test.ts" for j in range(40)]
        files += [f"{root}/src/models/m{j}.py" for j in range(30)]
        files += [f"{root}/src/models/sub{j % 5}/m{j}.py" for j in range(30)]
        files += [f"{root}/src/utils/u{j}.ts" for j in range(20)]
        files += [f"{root}/config/app.yml", f"{root}/config/db.yaml", f"{root}/README.md"]
        files.append(f"{root}/proto/svc{s % 20}.proto")
    for g in range(GROUPS):
        root = f"web/app/(group{g})/[slug]"
        files += [f"{root}/page.tsx", f"{root}/layout.tsx"]
        files += [f"{root}/components/c{j}{k}.tsx" for j in range(25) for k in "ab"]
    files += [f".github/workflows/w{j}.yml" for j in range(20)]
    files += [f"docs/guide/p{j}.md" for j in range(200)]
    return files


def changed_files(count: int, rng: random.Random) -> list[ChangedFile]:
    universe = repository_files()
    chosen = rng.sample(universe, count)
    out: list[ChangedFile] = []
    for path in chosen:
        roll = rng.random()
        if roll < 0.80:
            out.append(ChangedFile(path=path, status=ChangeStatus.MODIFIED))
        elif roll < 0.88:
            out.append(ChangedFile(path=path, status=ChangeStatus.ADDED))
        elif roll < 0.94:
            out.append(ChangedFile(path=path, status=ChangeStatus.DELETED))
        elif roll < 0.99:
            old = f"legacy/{rng.choice(universe)}"
            out.append(
                ChangedFile(path=path, status=ChangeStatus.RENAMED, old_path=old, similarity=90)
            )
        else:
            out.append(ChangedFile(path=path, status=ChangeStatus.TYPE_CHANGED))
    return out


def doc_attention(k: int) -> list[dict[str, object]]:
    """Doc ``k``'s attention list, as its YAML says it."""
    s, j, g = k % SERVICES, k // SERVICES, k % GROUPS
    svc = f"services/svc{s:03d}"
    paths = [
        f"{svc}/src/handlers/h{j}.ts",
        f"{svc}/README.md",
        f"{svc}/src/handlers/h{j}*.ts",
        f"{svc}/src/models/**",
        f"{svc}/src/{{handlers,utils}}/*.test.ts",
        f"{svc}/config/*.{{yml,yaml}}",
        f"web/app/(group{g})/[slug]/page.tsx",
        f"web/app/(group{g})/[slug]/components/c{j}?.tsx",
        f"**/svc{s % 20}.proto" if k % 10 == 0 else f"{svc}/proto/*.proto",
    ]
    rules: list[dict[str, object]] = [{"op": "file", "path": path} for path in paths]
    rules.append(
        {
            "op": "file",
            "path": f"{svc}/src/utils/u{j % 20}.ts",
            "keywords": [f"util{j}", "deprecated"],
        }
    )
    return rules


def doc_text(k: int) -> str:
    lines = ["---", f"jrn: jrn::doc:{k}", "attention:"]
    for rule in doc_attention(k):
        lines.append(f"  - op: file\n    path: '{rule['path']}'")
        if "keywords" in rule:
            lines[-1] += f"\n    keywords: [{', '.join(rule['keywords'])}]"  # type: ignore[arg-type]
    lines += ["---", "", f"# Doc {k}", ""]
    return "\n".join(lines)


def keyword_lookup(source_name: str, path: str) -> str | None:
    del source_name
    if path.endswith(".ts"):
        return f"diff --git a/{path} b/{path}\n+// deprecated: use v2\n"
    return None


def timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    # Fresh caches for each phase, so neither benefits from the other's compiled patterns.
    _wcparse._compile.cache_clear()
    re.purge()
    started = time.perf_counter()
    result = work()
    # The index pauses the garbage collector (impact.collector_paused): the pass over its
    # young objects it defers is counted here, as the next allocation would run it.
    gc.collect(0)
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {elapsed:9.3f} s")
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--naive-docs", type=int, default=500, help="docs the naive loop runs on")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    texts = [(f"docs/d{k:05d}.md", doc_text(k)) for k in range(args.docs)]
    files = changed_files(args.files, rng)
    changes = [SourceChanges(source=SOURCE, files=files, base_sha="a" * 40, head_sha="b" * 40)]
    bound = [SOURCE.name]
    docs, _ = timed("parse docs (ruamel, YAML 1.2)", lambda: [parse_doc(p, t) for p, t in texts])
    rules = sum(len(doc.rules) for doc in docs)
    assert not any(doc.problems for doc in docs), "benchmark docs must be valid"
    per_doc = rules // max(args.docs, 1)
    print(f"{args.docs} docs x {per_doc} rules = {rules} rules; {len(files)} changed files")

    report, index_seconds = timed(
        "index: build_impact_report (all docs)",
        lambda: build_impact_report(
            docs,
            changes,
            bound_sources=bound,
            keyword_lookup=keyword_lookup,
            max_evidence_per_doc=None,
        ),
    )
    # The next run of the same process: wcmatch's own cache and re's are cleared as before,
    # the index's LRU of compiled matchers (globs.compile_globs) is what is left.
    warm_report, warm_seconds = timed(
        "index: the same, next run in the process",
        lambda: build_impact_report(
            docs,
            changes,
            bound_sources=bound,
            keyword_lookup=keyword_lookup,
            max_evidence_per_doc=None,
        ),
    )
    if warm_report != report:
        raise SystemExit("the second run of the index disagrees with the first")
    step = max(1, args.docs // max(1, min(args.naive_docs, args.docs)))
    sample: list[ParsedDoc] = docs[::step]
    sampled_rules = sum(len(doc.rules) for doc in sample)
    naive, naive_seconds = timed(
        f"naive loop ({len(sample)} of {len(docs)} docs)",
        lambda: naive_matches(sample, changes, bound, keyword_lookup),
    )
    naive_full = naive_seconds * rules / max(sampled_rules, 1)
    if len(sample) < len(docs):
        print(f"{'naive loop extrapolated to all docs':<44} {naive_full:9.3f} s")

    sampled_paths = {doc.path for doc in sample}
    indexed = {key for key in report_matches(report.impacted) if key[0] in sampled_paths}
    same = indexed == naive
    print(f"index == naive on sampled docs: {same} ({len(naive)} matches)")
    print(f"impacted docs: {report.counts.impacted_docs}, evidence lines: {report.counts.evidence}")
    print(f"ratio naive / index: {naive_full / index_seconds:.1f}x")
    print(f"ratio naive / index, next run: {naive_full / warm_seconds:.1f}x")
    print(f"ratio first run / next run: {index_seconds / warm_seconds:.1f}x")
    if not same:
        raise SystemExit("index and naive loop disagree")


if __name__ == "__main__":
    main()
