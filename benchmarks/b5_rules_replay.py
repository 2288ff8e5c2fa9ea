"""B5: ``jrn-dagster rules replay`` of 1,000 commits over a 2,000-file repository and a
1,000-doc space, in ranges per second.

    .venv/bin/python -m benchmarks.b5_rules_replay [--files 2000] [--commits 1000] [--docs 1000]

The replay runs twice on the same data: on a local clone (read in place) and on the repository's
coordinate, cloned blobless over HTTP on loopback (``git http-backend`` behind the token check
of ``jrn_dagster_tests/support/http_git.py``) with the integration's token. Both must give the
same report. Baselines, measured in the same run on an evenly spaced sample of the ranges and
extrapolated: what a replay built from the pieces the impact op calls once per run would cost,
that is ``build_impact_report`` per range (the rules resolved, indexed and their globs compiled
again every time) and one ``git diff --name-status`` process per range.
"""

import argparse
import dataclasses
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from jrn_dagster.adapters.git import GitRepositories, LocalRepository
from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.changes import SourceChanges, SourceRef
from jrn_dagster.domain.frontmatter import parse_doc
from jrn_dagster.domain.impact import build_impact_report
from jrn_dagster.domain.rules_replay import ReplayReport
from jrn_dagster.services.impact import keyword_diff_args, keyword_diff_text
from jrn_dagster.services.rules_replay import (
    ReplayRequest,
    Window,
    changes_by_commit,
    list_commits,
    replay_rules,
)
from jrn_dagster_tests.support.git_repos import RemoteRepo, git, make_remote_repo
from jrn_dagster_tests.support.http_git import GitHttpServer

TOKEN_ENV = "B5_GIT_TOKEN"
TOKEN = "ghs_b5benchmarktoken0123456789abcdefgh"
COORDINATE = "github.com/acme/monorepo"
WORDS = ("def", "return", "self", "value", "config", "items", "for", "in", "if", "else")


def _content(rng: random.Random, lines: int) -> str:
    text = [" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(lines)]
    if rng.random() < 0.1:
        text[rng.randrange(lines)] += "  # retry"
    return "\n".join(text) + "\n"


def _path(n: int) -> str:
    """40 packages x 5 modules x 10 files for 2,000 files."""
    return f"pkg{n // 50:02d}/mod{n // 10 % 5}/file{n:04d}.py"


def build_repository(root: Path, files: int, commits: int) -> RemoteRepo:
    """``files`` files, then ``commits`` commits changing 1 to 8 of them (1 in 20 adds one)."""
    rng = random.Random(5)
    repo = make_remote_repo(root, COORDINATE)
    paths = [_path(n) for n in range(files)]
    repo.push_history([{path: _content(rng, 40) for path in paths}])
    history = []
    for number in range(commits):
        changed = {path: _content(rng, 40) for path in rng.sample(paths, rng.randint(1, 8))}
        if rng.random() < 0.05:
            changed[f"pkg{number % 40:02d}/new/file{number}.py"] = _content(rng, 10)
        history.append(changed)
    repo.push_history(history)
    git("repack", "-a", "-d", "-b", "-q", cwd=repo.bare)
    return repo


def doc_text(number: int) -> str:
    """Per doc: its module, one file of it, its package's Python files (shared by 25 docs); a
    keyword rule for 1 doc in 10, a typo for 1 in 100, and one doc watching everything."""
    n = number * 2 % 2000
    package, module = f"pkg{n // 50:02d}", f"mod{n // 10 % 5}"
    rules: list[tuple[str, str | None]] = [
        (f"{package}/{module}/**", None),
        (_path(n), None),
        (f"{package}/**/*.py", None),
    ]
    if number % 10 == 0:
        rules.append((f"{package}/{module}/*.py", "retry"))
    if number % 100 == 1:
        rules.append((f"pgk{package[3:]}/{module}/**", None))
    if number == 0:
        rules = [("**", None)]
    lines = ["---", f"jrn: jrn::doc:{number}", "attention:"]
    for path, keyword in rules:
        lines += ["  - op: file", f"    path: '{path}'"]
        lines += [f"    keywords: [{keyword}]"] if keyword else []
    return "\n".join([*lines, "---", f"# Doc {number}", ""])


def build_space(database: Database, docs: int) -> int:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env=TOKEN_ENV)
        uow.sources.add("monorepo", repo=COORDINATE, branch="main", integration="gh")
        space = uow.spaces.add("bench")
        uow.spaces.bind("bench", "monorepo")
        for number in range(docs):
            uow.docs.put(space.id, f"docs/d{number:04d}.md", doc_text(number))
        uow.commit()
    return sum(len(parse_doc("d", doc_text(n)).rules) for n in range(docs))


def comparable(report: ReplayReport) -> dict[str, Any]:
    data = report.to_json_dict()
    for varying in ("repository", "timings"):
        data.pop(varying)
    return {**data, "totals": report.totals.model_dump(exclude={"seconds"})}


def baselines(
    repo: RemoteRepo, database: Database, report: ReplayReport, sample: int
) -> tuple[float, float]:
    """Seconds per range: build_impact_report per range, and one git diff process per range."""
    reader = LocalRepository(repo.work, os.environ)
    window = Window(mode=report.mode, tip=report.head_sha, since_sha=None, last=len(report.ranges))
    commits = list_commits(reader, window)
    changes = changes_by_commit(reader, window)
    with database.unit_of_work() as uow:
        stored = uow.docs.all(uow.spaces.get_by_slug("bench").id)
    docs = [parse_doc(doc.path, doc.content) for doc in stored]
    picked = commits[:: max(1, len(commits) // sample)][:sample]
    source = SourceRef(id=1, name="monorepo", kind="true")

    started = time.perf_counter()
    for commit in picked:
        base = commit.parents[0]

        def lookup(_: str, path: str, base: str = base, head: str = commit.sha) -> str | None:
            return keyword_diff_text(reader.read(*keyword_diff_args(base, head, path)))

        build_impact_report(
            docs,
            [SourceChanges(source=source, files=changes[commit.sha], base_sha=base)],
            bound_sources=["monorepo"],
            keyword_lookup=lookup,
        )
    rebuild = (time.perf_counter() - started) / len(picked)

    started = time.perf_counter()
    for commit in picked:
        subprocess.run(
            ["git", "diff", "--name-status", "-z", "-M", commit.parents[0], commit.sha, "--"],
            cwd=repo.work,
            capture_output=True,
            check=True,
        )
    diff = (time.perf_counter() - started) / len(picked)
    return rebuild, diff


def _row(name: str, report: ReplayReport) -> str:
    """Ranges per second end to end, and without reading the docs' YAML (which rules stored
    parsed per doc version would spare)."""
    t, seconds, ranges = report.timings, report.totals.seconds, report.totals.ranges
    fetch = "clone" if "clone" in t else "open"
    return (
        f"  {name:<22}{seconds:>6.2f} s {ranges / seconds:>5.0f} ranges/s "
        f"({ranges / (seconds - t['rules']):.0f}/s without the YAML)   rules {t['rules']:.2f} s, "
        f"{fetch} {t[fetch]:.2f} s, history {t['history']:.2f} s, replay {t['replay']:.2f} s, "
        f"report {t['report']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=20, help="ranges timed for the baselines")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jrn-b5-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        repo = build_repository(root / "git", args.files, args.commits)
        database = Database(f"sqlite:///{root / 'b5.sqlite'}")
        upgrade(database)
        rules = build_space(database, args.docs)
        print(
            f"B5 rules replay: {args.commits} ranges (first-parent) of a {args.files}-file "
            f"repository, {args.docs} docs / {rules} rules (SQLite); data generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
        request = ReplayRequest(space="bench", repo=str(repo.work), last=args.commits)
        local = replay_rules(database, request, repositories=GitRepositories.from_environment())
        with GitHttpServer(repo.root, token=TOKEN) as server:
            environ = {
                **os.environ,
                "JRN_CLONE_URL_TEMPLATE": server.url_template,
                TOKEN_ENV: TOKEN,
            }
            cloned = replay_rules(
                database,
                dataclasses.replace(request, repo=COORDINATE),
                repositories=GitRepositories.from_environment(environ),
            )
            fetched = server.bytes_sent
        if comparable(local) != comparable(cloned):
            raise SystemExit("the local and the cloned replay disagree")
        rebuild, diff = baselines(repo, database, local, args.sample)
        database.dispose()

    totals = local.totals
    print(
        f"  flagged (range, doc) pairs: {totals.flagged_pairs}; docs flagged "
        f"{totals.docs_flagged}; rules fired {totals.rules_fired} of {totals.rules_replayed}; "
        f"never fired {len(local.never_fired)}; noisy {len(local.noisy)}"
    )
    print(_row("local path", local))
    print(_row("coordinate over HTTP", cloned) + f"; {fetched:,} bytes fetched")
    ranges = totals.ranges
    matching = local.timings["replay"]
    print(
        f"  baseline build_impact_report per range: {rebuild * 1000:.0f} ms/range "
        f"({args.sample} sampled) -> {rebuild * ranges:.0f} s for {ranges} ranges; "
        f"replay matching {matching:.2f} s: {rebuild * ranges / matching:.0f}x"
    )
    history = local.timings["history"]
    print(
        f"  baseline one git diff per range: {diff * 1000:.1f} ms/range -> "
        f"{diff * ranges:.1f} s; one git log for all {history:.2f} s: "
        f"{diff * ranges / history:.0f}x"
    )


if __name__ == "__main__":
    main()
