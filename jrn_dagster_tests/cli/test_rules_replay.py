"""``jrn-dagster rules replay`` on a generated repository whose history is known: the counts per
doc, the rules that never fired and the noisy ones are exactly as constructed; first-parent
ranges vs every commit; a coordinate cloned through the clone URL template (file://, and HTTP
with the integration's token); nothing written anywhere. SQLite and PostgreSQL."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from jrn_dagster.adapters.git import LocalRepository
from jrn_dagster.db.models import Base
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.changes import parse_name_status
from jrn_dagster.domain.rules_replay import ReplayMode
from jrn_dagster.services.impact import keyword_diff_args
from jrn_dagster.services.rules_replay import (
    Window,
    changes_by_commit,
    keyword_diffs,
)
from jrn_dagster_tests.support.cli import cli_json, run_cli
from jrn_dagster_tests.support.git_repos import RemoteRepo, git, make_remote_repo
from jrn_dagster_tests.support.http_git import GitHttpServer, basic_authorization

TOKEN_ENV = "ACME_REPLAY_TOKEN"
TOKEN = "ghs_replaytoken0123456789abcdefABCDEF"
# 30 lines: a change to the last one leaves the first out of the diff's context.
APP = "".join(f"x{n} = {n}\n" for n in range(30))


def rules(*entries: str | tuple[str, str]) -> str:
    """A doc whose attention rules are ``entries``: a path, or (path, keyword)."""
    lines = ["---", "attention:"]
    for entry in entries:
        path, keyword = entry if isinstance(entry, tuple) else (entry, None)
        lines += ["  - op: file", f"    path: '{path}'"]
        if keyword:
            lines.append(f"    keywords: [{keyword}]")
    return "\n".join([*lines, "---", "# Doc", ""])


DOCS = {
    "payments.md": rules("services/payments/**", ("services/payments/app.py", "retry")),
    "billing.md": rules("services/billing/**"),
    "typo.md": rules("servcies/billing/**"),
    "everything.md": rules("**"),
    "readme.md": rules("README.md"),
    "gone.md": rules("legacy/old.py"),
    "nothing.md": "# Nothing to watch\n",
}


@dataclass
class History:
    repo: RemoteRepo
    shas: dict[str, str]  # subject -> commit


def build_history(root: Path) -> History:
    """main: initial commit, add payments, add billing, retry payments, readme, rename models,
    Merge feat (billing tweak, payments tweak), web page; and a branch never merged (stray)."""
    repo = make_remote_repo(root, "github.com/acme/widgets")
    shas = {"initial commit": repo.head()}

    def commit(subject: str, files: dict[str, str | None], branch: str = "main") -> None:
        shas[subject] = repo.commit(files, subject, branch=branch)

    commit(
        "add payments",
        {"services/payments/app.py": APP, "services/payments/models.py": "class Pay: ...\n"},
    )
    commit("add billing", {"services/billing/api.py": "def bill(): ...\n"})
    commit("retry payments", {"services/payments/app.py": APP.replace("x0 = 0", "# retry")})
    commit("readme", {"README.md": "# widgets, documented\n"})
    commit(
        "rename models",
        {"services/payments/models.py": None, "services/payments/model.py": "class Pay: ...\n"},
    )
    commit("billing tweak", {"services/billing/api.py": "def bill(): return 1\n"}, "feat")
    tweaked = APP.replace("x0 = 0", "# retry").replace("x29 = 29", "x29 = 'timeout'")
    commit("payments tweak", {"services/payments/app.py": tweaked}, "feat")
    repo.checkout("main")
    git("merge", "--no-ff", "--quiet", "-m", "Merge feat", "feat", cwd=repo.work, home=repo.root)
    shas["Merge feat"] = git("rev-parse", "HEAD", cwd=repo.work)
    commit("stray", {"stray.txt": "never merged\n"}, "stray")
    commit("web page", {"web/index.ts": "export {}\n"})
    repo.push("main")
    return History(repo, shas)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """Shared by the tests that only read it."""
    return build_history(tmp_path_factory.mktemp("history") / "git")


def set_up_space(url: str, docs: dict[str, str] = DOCS) -> None:
    for args in (
        ["integration", "add", "gh", "--kind", "token", "--token-env", TOKEN_ENV],
        ["source", "add", "api", "--repo", "github.com/acme/widgets", "--branch", "main"],
        ["source", "link", "api", "--integration", "gh"],
        ["space", "add", "docs"],
        ["space", "bind", "docs", "api"],
    ):
        assert run_cli(url, *args).exit_code == 0, args
    for path, content in docs.items():
        assert run_cli(url, "doc", "put", "docs", path, input=content).exit_code == 0


def replay(url: str, *args: str) -> dict[str, Any]:
    return cli_json(url, "rules", "replay", "docs", *args)


def doc_counts(report: dict[str, Any]) -> dict[str, int]:
    return {doc["path"]: doc["ranges"] for doc in report["docs"]}


def last_subjects(report: dict[str, Any], path: str) -> list[str]:
    doc = next(doc for doc in report["docs"] if doc["path"] == path)
    return [ref["subject"] for ref in doc["lastRanges"]]


def test_first_parent_counts_are_as_constructed(database_url: str, history: History) -> None:
    set_up_space(database_url)
    report = replay(database_url, "--repo", str(history.repo.work))

    subjects = [r["subject"] for r in report["ranges"]]
    assert subjects == [
        "initial commit",
        "add payments",
        "add billing",
        "retry payments",
        "readme",
        "rename models",
        "Merge feat",
        "web page",
    ]
    merge = report["ranges"][6]
    assert merge["baseSha"] == history.shas["rename models"]  # the PR is one range
    assert report["ranges"][0]["baseSha"] is None  # the root: its whole tree
    assert doc_counts(report) == {
        "everything.md": 8,
        "payments.md": 4,
        "billing.md": 2,
        "readme.md": 2,
        "gone.md": 0,
        "nothing.md": 0,
        "typo.md": 0,
    }
    assert last_subjects(report, "payments.md") == ["Merge feat", "rename models", "retry payments"]
    payments = next(doc for doc in report["docs"] if doc["path"] == "payments.md")
    assert [(r["ruleIndex"], r["ranges"]) for r in payments["rules"]] == [(0, 4), (1, 1)]
    assert payments["topRule"]["ruleIndex"] == 0

    assert [
        (r["docPath"], r["pattern"], r["filesAtHead"], r["closestPaths"])
        for r in report["neverFired"]
    ] == [
        ("gone.md", "legacy/old.py", 0, []),
        ("typo.md", "servcies/billing/**", 0, ["services/billing/", "services/"]),
    ]
    # 4 of 8 is not more than half: only the catch-all rule is noisy.
    assert [(r["docPath"], r["ranges"], r["share"]) for r in report["noisy"]] == [
        ("everything.md", 8, 1.0)
    ]
    assert [(d["path"], d["reason"]) for d in report["docsWithoutTargets"]] == [
        ("gone.md", "its rules match no file at the head of main"),
        ("nothing.md", "no attention rules"),
        ("typo.md", "its rules match no file at the head of main"),
    ]
    totals = report["totals"]
    assert (totals["ranges"], totals["flaggedPairs"], totals["docsFlagged"]) == (8, 16, 4)
    assert (totals["rulesReplayed"], totals["rulesFired"]) == (7, 5)
    assert report["headSha"] == history.shas["web page"]
    assert report["rulesNotReplayed"] == [] and report["warnings"] == []


def test_every_commit_instead_of_first_parent_ranges(database_url: str, history: History) -> None:
    set_up_space(database_url)
    report = replay(database_url, "--repo", str(history.repo.work), "--all-commits")
    subjects = [r["subject"] for r in report["ranges"]]
    assert len(subjects) == 9 and "Merge feat" not in subjects
    assert {"billing tweak", "payments tweak"} <= set(subjects)
    assert report["mode"] == "all-commits"
    assert doc_counts(report)["everything.md"] == 9
    assert doc_counts(report)["billing.md"] == 2  # add billing, billing tweak
    assert last_subjects(report, "payments.md") == [
        "payments tweak",
        "rename models",
        "retry payments",
    ]
    # The tweak's diff does not reach the retry line: the keyword rule stays at one range.
    payments = next(doc for doc in report["docs"] if doc["path"] == "payments.md")
    assert [(r["ruleIndex"], r["ranges"]) for r in payments["rules"]] == [(0, 4), (1, 1)]
    assert report["totals"]["flaggedPairs"] == 9 + 4 + 2 + 2


def test_window_and_noisy_share_options(
    database_url: str, history: History, tmp_path: Path
) -> None:
    set_up_space(database_url)
    work = str(history.repo.work)
    last = replay(database_url, "--repo", work, "--last", "3")
    assert [r["subject"] for r in last["ranges"]] == ["rename models", "Merge feat", "web page"]
    # A clone without a local branch of that name: its remote-tracking branch is used.
    detached = tmp_path / "detached"
    git("clone", "--quiet", str(history.repo.bare), str(detached), cwd=tmp_path)
    git("checkout", "--quiet", "--detach", cwd=detached)
    git("branch", "--quiet", "-D", "main", cwd=detached)
    assert replay(database_url, "--repo", str(detached), "--last", "3")["ranges"] == last["ranges"]
    since = replay(database_url, "--repo", work, "--since", history.shas["readme"])
    assert since["ranges"] == last["ranges"]
    noisy = replay(database_url, "--repo", work, "--noisy-share", "0.4")
    assert [(r["docPath"], r["ruleIndex"]) for r in noisy["noisy"]] == [
        ("everything.md", 0),
        ("payments.md", 0),
    ]


def test_each_range_is_what_git_diff_gives_the_impact_op(history: History) -> None:
    work = history.repo.work
    reader = LocalRepository(work, os.environ)
    tip = history.shas["web page"]
    for mode in ReplayMode:
        changes = changes_by_commit(reader, Window(mode=mode, tip=tip, since_sha=None, last=100))
        assert len(changes) == (8 if mode is ReplayMode.FIRST_PARENT else 9)
        for sha, files in changes.items():
            parents = git("rev-list", "--parents", "-n", "1", sha, cwd=work).split()[1:]
            if not parents:
                assert {f.path for f in files} == {"README.md"}
                continue
            diff = subprocess.run(
                ["git", "diff", "--name-status", "-z", "-M", parents[0], sha, "--"],
                cwd=work,
                capture_output=True,
                check=True,
            )
            assert files == parse_name_status(diff.stdout), sha
    window = Window(mode=ReplayMode.FIRST_PARENT, tip=tip, since_sha=None, last=100)
    changes = changes_by_commit(reader, window)
    renamed = changes[history.shas["rename models"]]
    assert [(f.status, f.old_path, f.path) for f in renamed] == [
        ("renamed", "services/payments/models.py", "services/payments/model.py")
    ]
    # The keyword diffs read in one batch are the impact op's per-file diffs, byte for byte.
    wanted = {sha: {f.path for f in files} for sha, files in changes.items() if sha != tip}
    del wanted[history.shas["initial commit"]]
    diffs = keyword_diffs(reader, ReplayMode.FIRST_PARENT, wanted)
    assert sorted(diffs) == sorted((sha, path) for sha, paths in wanted.items() for path in paths)
    for (sha, path), text in diffs.items():
        parent = git("rev-parse", f"{sha}^1", cwd=work)
        one = subprocess.run(
            ["git", *keyword_diff_args(parent, sha, path)],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        assert text == one.stdout, (sha, path)


def test_one_doc_with_rules_from_a_local_file(
    database_url: str, history: History, tmp_path: Path
) -> None:
    set_up_space(database_url)
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        "attention:\n"
        "  - op: file\n    path: 'services/billing/**'\n"
        "  - op: file\n    path: 'servcies/x/**'\n"
        "  - op: fil\n    path: a\n"
    )
    work = str(history.repo.work)
    report = replay(
        database_url, "--repo", work, "--doc", "new/draft.md", "--rules-file", str(draft)
    )
    assert doc_counts(report) == {"new/draft.md": 2}
    assert [(r["ruleIndex"], r["closestPaths"][0]) for r in report["neverFired"]] == [
        (1, "services/")
    ]
    assert [(w["docPath"], w["code"]) for w in report["warnings"]] == [
        ("new/draft.md", "invalid_rule")
    ]
    # A whole doc works too; and a stored doc alone, with its stored rules.
    whole = tmp_path / "whole.md"
    whole.write_text(rules("README.md"))
    args = ["--repo", work, "--doc", "readme.md"]
    assert doc_counts(replay(database_url, *args, "--rules-file", str(whole))) == {"readme.md": 2}
    assert doc_counts(replay(database_url, *args)) == {"readme.md": 2}
    stored = cli_json(database_url, "doc", "list", "docs")
    assert "new/draft.md" not in [d["path"] for d in stored]  # a draft is never stored


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the clone's temporary sandbox goes, to check it is gone afterwards."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what depends on where and how fast it ran."""
    kept = {k: v for k, v in report.items() if k not in ("repository", "timings")}
    kept["totals"] = {k: v for k, v in report["totals"].items() if k != "seconds"}
    return kept


def test_a_coordinate_is_cloned_through_the_template_and_replays_like_the_local_clone(
    database_url: str, tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = build_history(tmp_path / "git")  # its own: more commits are pushed to it
    set_up_space(database_url)
    # file:// takes no credential: the integration's token variable is not even set.
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv("JRN_CLONE_URL_TEMPLATE", history.repo.url_template)
    older = history.repo.push_history(
        [{f"gen/file{n}.txt": f"{n}\n"} for n in range(80)]
    )  # more than the first fetch's 64 commits: the clone must deepen to reach --since
    since = history.shas["rename models"]
    for args in (["--since", since], ["--all-commits", "--since", since], ["--last", "85"]):
        cloned = replay(database_url, "--repo", "github.com/acme/widgets", *args)
        local = replay(database_url, "--repo", str(history.repo.work), *args)
        assert cloned["repository"] == "github.com/acme/widgets"
        assert comparable(cloned) == comparable(local)
        assert cloned["headSha"] == older
    assert len(cloned["ranges"]) == 85
    assert list(private_tmp.iterdir()) == []  # the sandbox was released


def _jrn_dagster(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "jrn-dagster"
    return subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def http_git(history: History) -> Iterator[GitHttpServer]:
    with GitHttpServer(history.repo.root, token=TOKEN) as server:
        yield server


def test_an_http_clone_uses_the_integrations_token_from_the_environment(
    database_url: str, history: History, http_git: GitHttpServer, tmp_path: Path
) -> None:
    set_up_space(database_url)
    base_env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(tmp_path),
        "JRN_DATABASE_URL": database_url,
        "JRN_CLONE_URL_TEMPLATE": http_git.url_template,
    }
    args = ("rules", "replay", "docs", "--repo", "github.com/acme/widgets", "--json")

    missing = _jrn_dagster(base_env, *args)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: integration 'gh' (id 1): set env var {TOKEN_ENV} to the git token; it is unset "
        "or empty in the process that runs the clone"
    ]
    assert http_git.requests == []  # nothing was asked without a credential

    done = _jrn_dagster({**base_env, TOKEN_ENV: TOKEN}, *args)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["ranges"] == 8 and doc_counts(report)["payments.md"] == 4
    served = http_git.requests
    assert served and {r.authorization for r in served} == {basic_authorization(TOKEN)}
    assert all(r.status == 200 for r in served)
    assert TOKEN not in done.stdout + done.stderr

    wrong = _jrn_dagster({**base_env, TOKEN_ENV: "ghs_wrongtoken000000000000000000000"}, *args)
    assert wrong.returncode == 2
    assert "the remote refused the credentials" in wrong.stderr
    assert "ghs_wrongtoken" not in wrong.stderr


def _rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    with database.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table))]
            for table in Base.metadata.sorted_tables
        }


def _tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` (``.git`` included): its mtime and content hash."""
    return {
        str(path.relative_to(root)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_nothing_is_written_to_the_database_or_the_local_repository(
    database: Database, database_url: str, history: History
) -> None:
    set_up_space(database_url)
    rows, tree = _rows(database), _tree(history.repo.work)
    replay(database_url, "--repo", str(history.repo.work))
    replay(database_url, "--repo", str(history.repo.work), "--all-commits")
    assert _rows(database) == rows
    assert _tree(history.repo.work) == tree


def test_the_text_report(database_url: str, history: History) -> None:
    set_up_space(database_url)
    result = run_cli(database_url, "rules", "replay", "docs", "--repo", str(history.repo.work))
    assert result.exit_code == 0, result.output
    text = result.stdout
    head = history.shas["web page"][:12]
    assert text.startswith(
        f"Replayed 8 ranges (first-parent) of {history.repo.work} main, the root..{head}, "
        "for space 'docs' (sources: api)\n"
    )
    assert (
        "  payments.md  4 ranges (50.0%)  top rule attention[0] 'services/payments/**' (4)\n"
        in text
    )
    assert f"      {history.shas['Merge feat'][:12]}  Merge feat\n" in text
    assert (
        "  typo.md attention[0] 'servcies/billing/**' (api): matches no file at the head; "
        "closest: services/billing/, services/\n"
    ) in text
    assert "  everything.md attention[0] '**' (api): 8 of 8 ranges (100.0%)\n" in text
    assert "  nothing.md: no attention rules\n" in text
    assert "Totals: 8 ranges, 16 flagged (range, doc) pairs, 4 of 7 docs flagged" in text


def test_sources_the_repository_stands_for(database_url: str, history: History) -> None:
    set_up_space(database_url, {})
    for args in (
        ["source", "add", "mirror", "--repo", "github.com/acme/widgets"],
        ["source", "add", "web", "--repo", "github.com/acme/web"],
        ["space", "bind", "docs", "mirror"],
        ["space", "bind", "docs", "web"],
    ):
        assert run_cli(database_url, *args).exit_code == 0, args
    doc = (
        "---\nattention:\n"
        "  - {op: file, path: 'services/billing/**', source: mirror}\n"
        "  - {op: file, path: 'web/**', source: web}\n"
        "  - {op: file, path: 'README.md'}\n"
        "---\n"
    )
    assert run_cli(database_url, "doc", "put", "docs", "multi.md", input=doc).exit_code == 0
    work = str(history.repo.work)
    ambiguous = run_cli(database_url, "rules", "replay", "docs", "--repo", work)
    assert ambiguous.exit_code == 2
    assert "bound to 3 sources (api, mirror, web)" in ambiguous.stderr
    report = replay(database_url, "--repo", work, "--source", "api")
    # The virtual source of the same repository sees its changes, as in the impact op.
    assert report["replayedSources"] == ["api", "mirror"]
    assert doc_counts(report) == {"multi.md": 2}
    assert [(r["pattern"], r["sourceName"]) for r in report["rulesNotReplayed"]] == [
        ("web/**", "web")
    ]
    assert [w["code"] for w in report["warnings"]] == ["ambiguous_source"]


BAD_INPUT = [
    (["nope", "--repo", "{work}"], "space 'nope' does not exist"),
    (["docs", "--repo", "{work}", "--since", "nope"], "--since 'nope' is not a commit of main"),
    (["docs", "--repo", "{work}", "--since", "{stray}"], "is not an ancestor of main"),
    (["docs", "--repo", "{work}", "--branch", "gone"], "branch 'gone' does not exist"),
    (["docs", "--repo", "{tmp}"], "is not a git repository"),
    (["docs", "--repo", "no/such/dir/here"], "is neither a directory nor a coordinate"),
    (["docs", "--repo", "github.com/acme/other"], "bound to no true source of github.com"),
    (["docs", "--repo", "{work}", "--source", "x"], "not bound to source 'x'"),
    (["docs", "--repo", "{work}", "--last", "2", "--since", "HEAD"], "not both"),
    (["docs", "--repo", "{work}", "--last", "0"], "--last must be between 1 and 20000"),
    (["docs", "--repo", "{work}", "--rules-file", "{work}/README.md"], "needs --doc"),
    (["docs", "--repo", "{work}", "--doc", "absent.md"], "doc 'absent.md' does not exist"),
    (["docs", "--repo", "{work}", "--branch", "a..b"], "invalid branch name"),
    (["docs", "--repo", "{work}", "--noisy-share", "1"], "--noisy-share must be"),
]


def test_bad_input_is_one_line_and_exit_2(
    database_url: str, history: History, tmp_path: Path
) -> None:
    set_up_space(database_url)
    rows = {"work": history.repo.work, "tmp": tmp_path, "stray": history.shas["stray"]}
    for args, message in BAD_INPUT:
        result = run_cli(database_url, "rules", "replay", *(a.format(**rows) for a in args))
        assert result.exit_code == 2, (args, result.output)
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line, (args, line)


def test_control_characters_from_history_are_shown_escaped(
    database_url: str, tmp_path: Path
) -> None:
    repo = make_remote_repo(tmp_path / "git", "github.com/acme/widgets")
    repo.commit({"README.md": "new\n"}, "\x1b[2J\x1b]0;owned\x07 readme")
    set_up_space(database_url, {"readme.md": rules("README.md")})
    result = run_cli(database_url, "rules", "replay", "docs", "--repo", str(repo.work))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "  \\x1b[2J\\x1b]0;owned\\x07 readme\n" in result.stdout
    # The JSON keeps the subject as it is (json.dumps escapes it).
    report = replay(database_url, "--repo", str(repo.work))
    assert report["ranges"][-1]["subject"] == "\x1b[2J\x1b]0;owned\x07 readme"
