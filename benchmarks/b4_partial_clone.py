"""B4: bytes fetched and time to check out a 3-commit push range of a 2,000-file repository.

Ours: ``clone_at`` (blobless, shallow fetch of the pushed commit, deepened until the base is
found, then the checkout and the base..head contents). Baseline, in the same run against the same
server: a full ``git clone`` of the branch, which is what the docs platform's workflow does.

The repository is packed with bitmaps and served over HTTP on loopback by ``git http-backend`` with
partial clone enabled (``uploadpack.allowFilter``), as GitHub serves repositories, behind a token
check; bytes are counted at the server (response bodies).

    .venv/bin/python -m benchmarks.b4_partial_clone [--files 2000] [--history 300] [--runs 3]
"""

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from jrn_dagster.adapters.git import clone_at
from jrn_dagster.adapters.github import GitCredential, git_auth_environment
from jrn_dagster.ports.sandbox import Sandbox
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster_tests.support.git_repos import RemoteRepo, git, make_remote_repo
from jrn_dagster_tests.support.http_git import GitHttpServer

TOKEN = "ghs_benchmarktoken0123456789abcdefghij"
CREDENTIAL = GitCredential(username="x-access-token", token=SecretStr(TOKEN))
COORDINATE = "github.com/acme/monorepo"


def _content(rng: random.Random, size: int) -> str:
    """Source-like text: words from a small vocabulary, so it compresses like code does."""
    words = ("def", "return", "self", "value", "config", "items", "for", "in", "if", "else")
    lines = []
    while sum(map(len, lines)) < size:
        lines.append(" ".join(rng.choice(words) for _ in range(8)) + f"  # {rng.random():.12f}")
    return "\n".join(lines) + "\n"


def build_repository(root: Path, files: int, history: int) -> tuple[RemoteRepo, str, str]:
    """A repository with ``files`` files, ``history`` earlier commits touching 20 files each,
    and a final 3-commit range. Returns (repo, base, head)."""
    rng = random.Random(4)
    paths = [f"pkg{n % 40:02d}/mod{n // 40:03d}/file{n:04d}.py" for n in range(files)]
    repo = make_remote_repo(root, COORDINATE)
    repo.push_history([{path: _content(rng, 2000) for path in paths}])
    repo.push_history(
        [{path: _content(rng, 2000) for path in rng.sample(paths, 20)} for _ in range(history)]
    )
    base = repo.head()
    head = repo.push_history(
        [{path: _content(rng, 2000) for path in rng.sample(paths, 5)} for _ in range(3)]
    )
    # A served repository is packed with reachability bitmaps (as GitHub's are), not left in
    # fast-import's raw pack.
    git("repack", "-a", "-d", "-b", "-q", cwd=repo.bare)
    return repo, base, head


def measure(
    server: GitHttpServer, method: Callable[[Sandbox], None], sandbox: Sandbox
) -> tuple[int, float]:
    """(bytes the server sent, seconds) for one checkout."""
    server.reset_counters()
    started = time.perf_counter()
    method(sandbox)
    return server.bytes_sent, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--history", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jrn-b4-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        repo, base, head = build_repository(root / "git", args.files, args.history)
        print(
            f"repository: {args.files} files, {args.history + 4} commits, range of 3 commits "
            f"(generated in {time.perf_counter() - started:.1f} s)"
        )
        resource = LocalSandboxResource(base_dir=str(root / "sandboxes"))
        with GitHttpServer(repo.root, token=TOKEN) as server:
            url = repo.coordinate.clone_url(server.url_template)

            def ours(sandbox: Sandbox) -> None:
                checkout = clone_at(
                    sandbox,
                    coordinate=COORDINATE,
                    branch="main",
                    head_sha=head,
                    base_sha=base,
                    credential=CREDENTIAL,
                    clone_url_template=server.url_template,
                    credential_hosts=[server.host],
                )
                assert checkout.base_reachable and checkout.head_sha == head

            def full_clone(sandbox: Sandbox) -> None:
                sandbox.run(
                    ["git", "clone", "--quiet", "--branch", "main", url, "repo"],
                    env={"GIT_TERMINAL_PROMPT": "0", **git_auth_environment(CREDENTIAL)},
                    timeout=600,
                )

            methods = {"partial (clone_at)": ours, "full clone": full_clone}
            samples: dict[str, list[tuple[int, float]]] = {name: [] for name in methods}
            # Alternate the methods, each run in a fresh sandbox: deleting a 2,000-file tree and
            # writing one again in the same place is slow on some disks, which is not what we
            # measure.
            for run in range(args.runs):
                for name, method in methods.items():
                    sandbox = resource.open(f"b4-{run}-{name.split()[0]}")
                    samples[name].append(measure(server, method, sandbox))
            partial = resource.open(f"b4-{args.runs - 1}-partial")
            missing = partial.run(
                ["git", "rev-list", "--objects", "--missing=print", "HEAD"], cwd="repo", timeout=60
            ).stdout.count("\n?")
            files_checked_out = len(
                partial.run(["git", "ls-files"], cwd="repo", timeout=60).stdout.splitlines()
            )
        resource.release_all()
        rows = {
            name: (runs[0][0], statistics.median(seconds for _, seconds in runs))
            for name, runs in samples.items()
        }

    print(f"{'method':<20} {'bytes fetched':>14} {'median time':>12}")
    for name, (fetched, seconds) in rows.items():
        print(f"{name:<20} {fetched:>14,} {seconds:>11.3f}s")
    (ours_bytes, ours_time), (full_bytes, full_time) = rows.values()
    bytes_ratio, time_ratio = full_bytes / ours_bytes, full_time / ours_time
    print(f"ratio full/partial: bytes {bytes_ratio:.1f}x, time {time_ratio:.1f}x")
    print(
        f"partial clone applied: {files_checked_out} files checked out; {missing} older blob "
        "versions in the fetched commits were never downloaded"
    )


if __name__ == "__main__":
    main()
