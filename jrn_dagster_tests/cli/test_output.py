"""CLI output off a terminal: whole lines, whatever their length."""

import io

from jrn_dagster.cli.demo import output_console


def test_rich_output_is_not_wrapped_when_not_on_a_terminal() -> None:
    buffer = io.StringIO()  # not a terminal, like a pipe or a CI log
    line = "see the runs in the UI: " + " ".join(f"DAGSTER_HOME=/srv/{i}" for i in range(12))
    assert len(line) > 200
    output_console(buffer).print(line)
    assert buffer.getvalue() == line + "\n"
