"""A local "remote": a bare repository laid out as ``{root}/{host}/{owner}/{repo}.git`` plus a
working clone to commit from, driven with the ``git`` binary."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.refs import is_zero_sha

_IDENTITY = {
    "GIT_AUTHOR_NAME": "jrn demo",
    "GIT_AUTHOR_EMAIL": "demo@jrn.invalid",
    "GIT_COMMITTER_NAME": "jrn demo",
    "GIT_COMMITTER_EMAIL": "demo@jrn.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
GIT_TIMEOUT_SECONDS = 60


def run_git(*args: str, cwd: Path, home: Path, stdin: bytes | None = None) -> str:
    """Run git with a fixed identity and none of the machine's or the user's configuration;
    returns stdout (stripped). Raises with git's stderr on failure."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), **_IDENTITY}
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=GIT_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"git {' '.join(args)} failed: {stderr}")
    return done.stdout.decode(errors="replace").strip()


def clone_url_template(root: Path) -> str:
    return f"file://{root.resolve()}/{{host}}/{{owner}}/{{repo}}.git"


@dataclass(frozen=True)
class LocalRemote:
    root: Path
    coordinate: RepoCoordinate

    @property
    def bare(self) -> Path:
        c = self.coordinate
        return self.root / c.host / c.owner / f"{c.repo}.git"

    @property
    def work(self) -> Path:
        c = self.coordinate
        return self.root / ".work" / c.host / c.owner / c.repo

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return run_git(*args, cwd=cwd or self.work, home=self.root)

    def ensure(self) -> bool:
        """Create the bare repository and the working clone; False when they already exist."""
        if self.bare.exists() and self.work.exists():
            return False
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--bare", str(self.bare), cwd=self.root)
        # Let clones filter blobs and fetch commits a forced push left behind, as GitHub does.
        self.git("config", "uploadpack.allowFilter", "true", cwd=self.bare)
        self.git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=self.bare)
        self.work.parent.mkdir(parents=True, exist_ok=True)
        self.git("clone", "--quiet", str(self.bare), str(self.work), cwd=self.root)
        return True

    def head(self, branch: str = "main") -> str | None:
        try:
            return self.git("rev-parse", "--verify", f"refs/heads/{branch}", cwd=self.bare)
        except RuntimeError:
            return None

    def commit_and_push(self, files: dict[str, str], message: str, branch: str = "main") -> str:
        for relative, content in files.items():
            target = self.work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", "--", relative)
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        self.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return self.git("rev-parse", "HEAD")

    def commit_on(self, parent: str, files: dict[str, str], message: str) -> str:
        """Commit ``files`` on top of ``parent`` (not pushed): a history that diverges."""
        self.git("checkout", "--quiet", "--detach", parent)
        for relative, content in files.items():
            target = self.work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", "--", relative)
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def force_push(self, sha: str, branch: str = "main") -> None:
        """Point the branch at ``sha``, whatever it was (``git push --force``)."""
        self.git("push", "--quiet", "--force", "origin", f"{sha}:refs/heads/{branch}")
        self.git("checkout", "--quiet", "--detach", sha)

    def changed_paths(self, before: str, after: str) -> tuple[list[str], list[str], list[str]]:
        """(added, modified, removed) between two commits, as a push payload lists them; a zero
        ``before`` (the push created the branch): every file is added."""
        added, modified, removed = [], [], []
        if is_zero_sha(before):
            before = self.git("hash-object", "-t", "tree", os.devnull).strip()  # the empty tree
        for line in self.git("diff", "--name-status", "--no-renames", before, after).splitlines():
            status, _, path = line.partition("\t")
            {"A": added, "D": removed}.get(status[:1], modified).append(path)
        return added, modified, removed
