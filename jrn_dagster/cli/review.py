"""``jrn-dagster changesets show``'s colours: added to lines already made terminal-safe
(``domain/review.py``); click strips them when the output is not a terminal."""

import click

from jrn_dagster.domain.review import terminal_safe


def styled_diff_line(line: str) -> str:
    safe = terminal_safe(line)
    if line.startswith(("---", "+++")):
        return click.style(safe, bold=True)
    if line.startswith("@@"):
        return click.style(safe, fg="cyan")
    if line.startswith("+"):
        return click.style(safe, fg="green")
    if line.startswith("-"):
        return click.style(safe, fg="red")
    return safe
