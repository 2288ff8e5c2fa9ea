import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, pass_cli
from jrn_dagster.services.matching import Outcome, explain_event, space_outcomes


@click.command("match")
@click.argument("event_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The params as a JSON list (seed names).")
@click.option("--explain", is_flag=True, help="Why each source/binding of the repo was kept.")
@pass_cli
def match(cli: CliContext, event_id: int, as_json: bool, explain: bool) -> None:
    """Show the CliImpactJobParams a stored event produces (read-only: launches nothing)."""
    with cli.unit_of_work() as uow:
        event = uow.events.get(event_id)
        result, verdicts = explain_event(uow, event)
        done = space_outcomes(uow, event_id)
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
                "runs": [
                    {
                        "sourceId": params.source_id,
                        "space": result.space_slugs[space_id],
                        "status": outcome.record.status.value if outcome else None,
                        "dagsterRunId": outcome.record.dagster_run_id if outcome else None,
                        "baseSha": outcome.range.base_sha if outcome and outcome.range else None,
                        "headSha": outcome.range.head_sha if outcome and outcome.range else None,
                        "comparison": outcome.range.comparison.value
                        if outcome and outcome.range
                        else None,
                        "error": outcome.record.error if outcome else None,
                        "burstEventIds": outcome.burst_event_ids if outcome else [],
                    }
                    for params in result.params
                    for space_id in params.affected_space_ids
                    for outcome in [done.get((params.source_id, space_id))]
                ],
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
        for space_id in params.affected_space_ids:
            outcome = done.get((params.source_id, space_id))
            said = outcome.describe() if outcome else "not yet run"
            click.echo(f"    {result.space_slugs[space_id]}: {said}")
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
