"""Real git repositories for tests, laid out the way clone URL templates expect them.

A "remote" is a bare repository at ``{root}/{host}/{owner}/{repo}.git``; the template
``file://{root}/{host}/{owner}/{repo}.git`` (``file_url_template(root)``) maps a coordinate to it.
Commits are authored in a private working clone and pushed, as a developer would.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jrn_dagster.demo.local_git import run_git
from jrn_dagster.domain.coordinates import RepoCoordinate


def git(*args: str, cwd: Path, home: Path | None = None) -> str:
    """Run git; returns stdout (stripped). Raises with git's stderr on failure."""
    return run_git(*args, cwd=cwd, home=home or cwd)


def file_url_template(root: Path) -> str:
    return f"file://{root}/{{host}}/{{owner}}/{{repo}}.git"


@dataclass
class RemoteRepo:
    root: Path
    coordinate: RepoCoordinate
    bare: Path
    work: Path

    @property
    def url_template(self) -> str:
        return file_url_template(self.root)

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        return git(*args, cwd=cwd or self.work, home=self.root)

    def head(self, branch: str = "main") -> str:
        """The branch head as the remote has it."""
        return self._git("rev-parse", f"refs/heads/{branch}", cwd=self.bare)

    def checkout(self, branch: str, *, start: str | None = None) -> None:
        """Switch the working clone to ``branch``, creating it at ``start`` (or at HEAD)."""
        existing = self._git("branch", "--list", branch)
        if existing:
            self._git("checkout", "--quiet", branch)
        else:
            self._git("checkout", "--quiet", "-b", branch, *([start] if start else []))

    def commit(
        self,
        files: Mapping[str, str | bytes | None],
        message: str = "change",
        *,
        branch: str = "main",
    ) -> str:
        """Write (or, with None, delete) files on ``branch`` and commit; returns the new SHA.
        Not pushed: call ``push``."""
        self.checkout(branch)
        for relative, content in files.items():
            target = self.work / relative
            if content is None:
                self._git("rm", "--quiet", "--", relative)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
            self._git("add", "--", relative)
        self._git("commit", "--quiet", "--allow-empty", "-m", message)
        return self._git("rev-parse", "HEAD")

    def push(self, branch: str = "main", *, force: bool = False) -> str:
        self._git(
            "push", "--quiet", *(["--force"] if force else []), "origin", f"{branch}:{branch}"
        )
        return self.head(branch)

    def commit_and_push(
        self,
        files: Mapping[str, str | bytes | None],
        message: str = "change",
        *,
        branch: str = "main",
    ) -> str:
        sha = self.commit(files, message, branch=branch)
        self.push(branch)
        return sha

    def rewrite(
        self,
        files: Mapping[str, str | bytes | None],
        message: str = "rewritten",
        *,
        branch: str = "main",
        drop: int = 1,
    ) -> str:
        """A forced push: drop the last ``drop`` commits of ``branch``, commit ``files`` instead
        and force-push. Returns the new head."""
        self.checkout(branch)
        self._git("reset", "--quiet", "--hard", f"HEAD~{drop}")
        self.commit(files, message, branch=branch)
        return self.push(branch, force=True)

    def push_history(
        self, commits: Sequence[Mapping[str, str | bytes]], *, branch: str = "main"
    ) -> str:
        """Append many commits to ``branch`` on the remote at once (``git fast-import``: one
        process instead of three per commit), then bring the working clone up to date. Each
        mapping holds the files one commit writes. Returns the new head."""
        parent = self.head(branch)
        stream = bytearray()
        for number, files in enumerate(commits):
            message = f"history {number}\n".encode()
            stream += f"commit refs/heads/{branch}\n".encode()
            when = 1_700_000_000 + number
            stream += f"committer Test Committer <committer@example.com> {when} +0000\n".encode()
            stream += f"data {len(message)}\n".encode() + message
            if number == 0:
                stream += f"from {parent}\n".encode()
            for relative, content in files.items():
                data = content.encode() if isinstance(content, str) else content
                stream += f"M 100644 inline {relative}\ndata {len(data)}\n".encode() + data + b"\n"
        run_git("fast-import", "--quiet", cwd=self.bare, home=self.root, stdin=bytes(stream))
        self.checkout(branch)
        self._git("fetch", "--quiet", "origin")
        self._git("reset", "--quiet", "--hard", f"origin/{branch}")
        return self.head(branch)

    def delete_branch(self, branch: str) -> None:
        self._git("push", "--quiet", "origin", f":refs/heads/{branch}")


def make_remote_repo(
    root: Path,
    coordinate: str = "github.com/acme/widgets",
    *,
    allow_filter: bool = True,
    initial_files: Mapping[str, str | bytes] | None = None,
) -> RemoteRepo:
    """A bare repository under ``root`` with one commit on ``main``.

    ``allow_filter`` turns on ``uploadpack.allowFilter`` (as GitHub has it), so partial clones
    over file:// and HTTP really filter.
    """
    parsed = RepoCoordinate.parse(coordinate)
    bare = root / parsed.host / parsed.owner / f"{parsed.repo}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--bare", str(bare), cwd=root, home=root)
    if allow_filter:
        git("config", "uploadpack.allowFilter", "true", cwd=bare, home=root)
    work = root / ".work" / parsed.host / parsed.owner / parsed.repo
    work.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "--quiet", str(bare), str(work), cwd=root, home=root)
    repo = RemoteRepo(root=root, coordinate=parsed, bare=bare, work=work)
    repo.commit_and_push(dict(initial_files or {"README.md": "# widgets\n"}), "initial commit")
    return repo
