"""``jrn-dagster rules replay``: tune attention rules against a branch's real history."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jrn_dagster.adapters.git import GitRepositories
from jrn_dagster.cli.context import CliContext, echo_json, fail, pass_cli
from jrn_dagster.db.migrate import ensure_up_to_date
from jrn_dagster.domain.rules_replay import (
    DocReplay,
    NeverFiredRule,
    ReplayMode,
    ReplayReport,
    RuleCount,
    RuleRef,
)
from jrn_dagster.ports.git import CheckoutError, CredentialError
from jrn_dagster.services.rules_replay import (
    DEFAULT_LAST,
    DEFAULT_NOISY_SHARE,
    ReplayRequest,
    replay_rules,
)

EXIT_TRANSIENT = 1
DEFAULT_ROWS = 50


@click.group(help="Attention rules: see what they would have flagged before they go live.")
def rules() -> None:
    pass


@rules.command("replay")
@click.argument("space")
@click.option(
    "--repo",
    required=True,
    metavar="PATH_OR_COORDINATE",
    help="A local clone (read in place, nothing written) or a coordinate host/owner/repo "
    "(cloned blobless with the bound true source's integration, as the clone op does).",
)
@click.option("--branch", help="Default: the source's branch; for a local path, else HEAD.")
@click.option("--since", metavar="REV", help="Replay the commits after REV (an ancestor).")
@click.option(
    "--last", type=int, metavar="N", help=f"Replay the last N ranges (default {DEFAULT_LAST})."
)
@click.option(
    "--first-parent/--all-commits",
    default=True,
    help="--first-parent (the default): one range per first-parent commit, a merged PR is one "
    "range, as pushes to the branch are. --all-commits: one range per non-merge commit.",
)
@click.option("--source", help="The bound source the repository holds (when several could).")
@click.option("--doc", "doc_path", metavar="PATH", help="Replay this doc only.")
@click.option(
    "--rules-file",
    type=click.File("rb"),
    help="With --doc: the doc's rules from this file (the doc, or just its frontmatter YAML) "
    "instead of the stored ones, to iterate before `doc put`.",
)
@click.option(
    "--noisy-share",
    type=float,
    default=DEFAULT_NOISY_SHARE,
    show_default=True,
    help="A rule firing on more than this share of the ranges is noisy.",
)
@click.option(
    "--rows", type=click.IntRange(1), default=DEFAULT_ROWS, show_default=True,
    help="Rows shown per section (--json has them all).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The same report as JSON.")
@pass_cli
def replay(
    cli: CliContext,
    space: str,
    repo: str,
    branch: str | None,
    since: str | None,
    last: int | None,
    first_parent: bool,
    source: str | None,
    doc_path: str | None,
    rules_file: BinaryIO | None,
    noisy_share: float,
    rows: int,
    as_json: bool,
) -> None:
    """What the attention rules of SPACE would have flagged over a branch's history.

    Runs the impact op's matching on each range; writes nothing (no run, no database row)."""
    rules_text = None
    if rules_file is not None:
        try:
            rules_text = rules_file.read().decode("utf-8")
        except UnicodeDecodeError:
            fail(f"--rules-file {rules_file.name!r} is not UTF-8 text")
    request = ReplayRequest(
        space=space,
        repo=repo,
        branch=branch,
        since=since,
        last=last,
        mode=ReplayMode.FIRST_PARENT if first_parent else ReplayMode.ALL_COMMITS,
        source=source,
        doc=doc_path,
        rules_text=rules_text,
        noisy_share=noisy_share,
    )
    request.check()
    ensure_up_to_date(cli.database)
    try:
        with _progress() as progress:
            report = replay_rules(
                cli.database,
                request,
                repositories=GitRepositories.from_environment(),
                progress=progress,
            )
    except (CheckoutError, CredentialError) as error:
        # Only a human fixes a refused credential or a missing repository; a network error may
        # pass.
        fail(str(error), EXIT_TRANSIENT if error.retryable else 2)
    if as_json:
        echo_json(report.to_json_dict())
    else:
        for line in render_report(report, rows=rows):
            click.echo(line)


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("replay", total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _rule(rule: RuleRef) -> str:
    keywords = f" keywords {', '.join(rule.keywords)}" if rule.keywords else ""
    where = f"{rule.doc_path} attention[{rule.rule_index}]"
    return f"{where} {rule.pattern!r}{keywords} ({rule.source_name})"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _ranges(count: int) -> str:
    return f"{count} range" if count == 1 else f"{count} ranges"


def _more(shown: int, total: int) -> list[str]:
    return [f"  ... and {total - shown} more (--json lists all)"] if total > shown else []


def _doc_lines(doc: DocReplay) -> list[str]:
    top = doc.top_rule
    top_text = f"top rule attention[{top.rule_index}] {top.pattern!r} ({top.ranges})" if top else ""
    lines = [f"  {doc.path}  {_ranges(doc.ranges)} ({_percent(doc.share)})  {top_text}".rstrip()]
    lines += [f"      {ref.sha[:12]}  {ref.subject}" for ref in doc.last_ranges]
    return lines


def _never_fired_line(rule: NeverFiredRule) -> str:
    if rule.files_at_head:
        return f"  {_rule(rule)}: matches {rule.files_at_head} file(s) at the head, none changed"
    if rule.closest_paths is None:
        return f"  {_rule(rule)}: matches no file at the head"
    closest = ", ".join(rule.closest_paths) or "nothing similar"
    return f"  {_rule(rule)}: matches no file at the head; closest: {closest}"


def _noisy_line(rule: RuleCount, ranges: int) -> str:
    return f"  {_rule(rule)}: {rule.ranges} of {ranges} ranges ({_percent(rule.share)})"


def render_report(report: ReplayReport, *, rows: int = DEFAULT_ROWS) -> list[str]:
    totals = report.totals
    start = report.ranges[0].base_sha if report.ranges else report.head_sha
    lines = [
        f"Replayed {_ranges(totals.ranges)} ({report.mode.value}) of {report.repository} "
        f"{report.branch}, {(start or 'the root')[:12]}..{report.head_sha[:12]}, for space "
        f"{report.space!r} (sources: {', '.join(report.replayed_sources)})",
        "",
    ]
    flagged = [doc for doc in report.docs if doc.ranges]
    lines.append(f"Docs flagged ({len(flagged)} of {totals.docs}), latest ranges first:")
    for doc in flagged[:rows]:
        lines += _doc_lines(doc)
    lines += _more(min(rows, len(flagged)), len(flagged))

    lines += ["", f"Rules that never fired ({len(report.never_fired)}):"]
    lines += [_never_fired_line(rule) for rule in report.never_fired[:rows]]
    lines += _more(min(rows, len(report.never_fired)), len(report.never_fired))

    lines += [
        "",
        f"Noisy rules, fired on more than {_percent(report.noisy_share)} of the ranges "
        f"({len(report.noisy)}):",
    ]
    lines += [_noisy_line(rule, totals.ranges) for rule in report.noisy[:rows]]
    lines += _more(min(rows, len(report.noisy)), len(report.noisy))

    missing = report.docs_without_targets
    lines += ["", f"Docs no rule points at an existing file ({len(missing)}):"]
    lines += [f"  {doc.path}: {doc.reason}" for doc in missing[:rows]]
    lines += _more(min(rows, len(missing)), len(missing))

    if report.rules_not_replayed:
        others = sorted({rule.source_name for rule in report.rules_not_replayed})
        lines += [
            "",
            f"Rules on other sources, not replayed: {len(report.rules_not_replayed)} "
            f"({', '.join(others)})",
        ]
    if report.warnings:
        lines += ["", f"Warnings ({len(report.warnings)}):"]
        lines += [f"  {w.doc_path or '-'}: {w.code}: {w.message}" for w in report.warnings[:rows]]
        lines += _more(min(rows, len(report.warnings)), len(report.warnings))
    phases = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in report.timings.items())
    lines += [
        "",
        f"Totals: {_ranges(totals.ranges)}, {totals.flagged_pairs} flagged (range, doc) pairs, "
        f"{totals.docs_flagged} of {totals.docs} docs flagged, {totals.rules_fired} of "
        f"{totals.rules_replayed} rules fired, {totals.seconds:.2f} s ({phases})",
    ]
    return [_shown(line) for line in lines]


def _shown(line: str) -> str:
    """Commit subjects, paths and messages come from others: a control character (an ANSI
    escape in a commit subject) is shown escaped, never sent to the terminal."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line)
