import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, pass_cli
from jrn_dagster.services.matching import Outcome, explain_event


@click.command("match")
@click.argument("event_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The params as a JSON list (seed names).")
@click.option("--explain", is_flag=True, help="Why each source/binding of the repo was kept.")
@pass_cli
def match(cli: CliContext, event_id: int, as_json: bool, explain: bool) -> None:
    """Show the CliImpactJobParams a stored event produces (read-only: launches nothing)."""
    with cli.unit_of_work() as uow:
        event = uow.events.get(event_id)
        result, verdicts = explain_event(uow.matching, event)
    if as_json and not explain:
        echo_json([params.to_json_dict() for params in result.params])
        return
    if as_json:
        echo_json(
            {
                "eventId": event_id,
                "outcome": result.outcome.value,
                "detail": result.detail,
                "params": [params.to_json_dict() for params in result.params],
                "explain": [
                    {
                        "sourceId": v.source_id,
                        "sourceName": v.source_name,
                        "space": v.space_slug,
                        "kept": v.kept,
                        "reason": v.reason,
                    }
                    for v in verdicts
                ],
            }
        )
        return
    push = result.push
    summary = f"event {event_id}: {result.outcome.value}"
    if push is not None:
        summary += f" ({push.coordinate} {push.ref} {push.before[:12]}..{push.after[:12]})"
    if result.outcome is not Outcome.MATCHED and result.detail:
        summary += f": {result.detail}"
    click.echo(summary)
    for params in result.params:
        spaces = ", ".join(result.space_slugs[s] for s in params.affected_space_ids)
        click.echo(
            f"  source {params.source_id} (integration {params.integration_id}) -> {spaces}; "
            f"head {params.head_sha or '-'} base {params.base_sha or '-'}"
        )
    if explain:
        echo_table(
            ["source", "space", "verdict", "reason"],
            [
                [
                    f"{v.source_name} ({v.source_id})",
                    v.space_slug or "-",
                    "kept" if v.kept else "dropped",
                    v.reason,
                ]
                for v in verdicts
            ],
        )
