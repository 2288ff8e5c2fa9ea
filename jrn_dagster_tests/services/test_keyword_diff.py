"""The diff a keyword rule reads is the diff of that one file, whatever its name."""

import subprocess
from pathlib import Path

from jrn_dagster.services.impact import keyword_diff_args
from jrn_dagster_tests.support.git_repos import make_remote_repo


def test_a_path_with_glob_characters_is_taken_literally(tmp_path: Path) -> None:
    repo = make_remote_repo(
        tmp_path, initial_files={"pages/[id].tsx": "id\n", "pages/i.tsx": "i\n"}
    )
    base = repo.head()
    head = repo.commit({"pages/[id].tsx": "id 2\n", "pages/i.tsx": "retry\n"}, "both")
    diff = subprocess.run(
        ["git", *keyword_diff_args(base, head, "pages/[id].tsx")],
        cwd=repo.work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert [line for line in diff.splitlines() if line.startswith("diff --git")] == [
        "diff --git a/pages/[id].tsx b/pages/[id].tsx"
    ]
    assert "retry" not in diff  # a keyword of the other file does not count for this one
