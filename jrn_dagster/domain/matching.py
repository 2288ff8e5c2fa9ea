"""From the rows the matching query returns to ``CliImpactJobParams`` (JobsToJrnAdapter).

The selection itself is SQL (``jrn_dagster.db.repositories.matching``); this module only
narrows by binding JRN patterns, groups bindings per source, and picks the base SHA.
"""

from dataclasses import dataclass, field
from itertools import groupby

from jrn_dagster.domain.jrn import jrn_matches
from jrn_dagster.domain.push import PushEvent
from jrn_dagster.domain.steps import CliImpactJobParams


def _actionable_jrn(push: PushEvent) -> str:
    if not push.actionable or push.event_jrn is None or push.branch is None:
        raise ValueError(f"push to {push.ref} starts nothing: {push.skip_reason}")
    return push.event_jrn


@dataclass(frozen=True, slots=True)
class PushTarget:
    """What the matching query joins a push on: its repository, host, branch and installation
    (pushes that share all four share their candidates)."""

    repo_key: str
    host: str
    branch: str
    installation_id: int | None


def push_target(push: PushEvent) -> PushTarget:
    if push.branch is None:
        raise ValueError(f"push to {push.ref} names no branch: {push.skip_reason}")
    return PushTarget(push.coordinate.key, push.host, push.branch, push.installation_id)


@dataclass(frozen=True, slots=True)
class BindingCandidate:
    """One enabled binding of an enabled true source, as selected by SQL."""

    source_id: int
    integration_id: int
    space_id: int
    space_slug: str
    jrn_pattern: str | None
    source_cursor: str | None


def base_sha_for(push: PushEvent, source_cursor: str | None) -> str | None:
    """The webhook's ``before``; when that is zero (branch created) or the push was forced
    (``before`` is no longer in the branch's history), the source cursor, if any."""
    if push.forced or push.base_sha is None:
        return source_cursor
    return push.base_sha


def params_for_push(
    push: PushEvent, candidates: list[BindingCandidate]
) -> list[CliImpactJobParams]:
    """One params per matched source (ordered by source id), fanned out to its spaces."""
    event_jrn = _actionable_jrn(push)
    result = []
    kept = [c for c in candidates if c.jrn_pattern is None or jrn_matches(c.jrn_pattern, event_jrn)]
    for source_id, group in groupby(
        sorted(kept, key=lambda c: (c.source_id, c.space_id)), key=lambda c: c.source_id
    ):
        bindings = list(group)
        result.append(
            CliImpactJobParams(
                source_id=source_id,
                integration_id=bindings[0].integration_id,
                event_jrn=event_jrn,
                head_sha=push.head_sha,
                base_sha=base_sha_for(push, bindings[0].source_cursor),
                affected_space_ids=[b.space_id for b in bindings],
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class RepositoryBinding:
    space_id: int
    space_slug: str
    space_archived: bool
    enabled: bool
    jrn_pattern: str | None


@dataclass(frozen=True, slots=True)
class InstallationNews:
    """What a GitHub App lifecycle delivery said (a state, or that a repository was lost),
    and the stored event that said it."""

    what: str
    event_id: int


@dataclass(frozen=True, slots=True)
class RepositorySource:
    source_id: int
    source_name: str
    branch: str | None
    enabled: bool
    integration_id: int | None
    integration_name: str | None
    integration_kind: str | None
    integration_status: str | None
    integration_host: str | None
    integration_installation_id: int | None
    installation: InstallationNews | None = None  # the installation's last known state
    lost_by_installation: InstallationNews | None = None  # the repository left it
    bindings: list[RepositoryBinding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why one source, or one of its bindings, was kept or dropped."""

    source_id: int
    source_name: str
    space_slug: str | None
    kept: bool
    reason: str


def source_drop_reason(push: PushEvent, source: RepositorySource) -> str | None:
    if source.integration_id is None:
        return "virtual source (no integration): never matched"
    if not source.enabled:
        return "source disabled"
    if source.integration_status != "active":
        reason = f"integration {source.integration_name!r} is {source.integration_status}"
        news = source.installation
        if news is not None and news.what != "active":
            reason += (
                f": GitHub App installation {source.integration_installation_id} is "
                f"{news.what} (event {news.event_id})"
            )
        return reason
    if source.integration_host != push.host:
        return f"integration {source.integration_name!r} is for host {source.integration_host}"
    if source.integration_kind == "github_app" and (
        source.integration_installation_id != push.installation_id
    ):
        return (
            f"GitHub App installation {source.integration_installation_id} is not the event's "
            f"({push.installation_id if push.installation_id is not None else 'none'})"
        )
    if source.lost_by_installation is not None:
        return (
            f"repository {push.owner}/{push.repo} was removed from GitHub App installation "
            f"{source.integration_installation_id} (event {source.lost_by_installation.event_id})"
        )
    if source.branch is not None and source.branch != push.branch:
        return f"source follows branch {source.branch!r}, push is to {push.branch!r}"
    return None


def binding_drop_reason(push: PushEvent, binding: RepositoryBinding) -> str | None:
    if not binding.enabled:
        return "binding disabled"
    if binding.space_archived:
        return "space archived"
    if binding.jrn_pattern is not None and not jrn_matches(
        binding.jrn_pattern, _actionable_jrn(push)
    ):
        return f"event JRN does not match binding pattern {binding.jrn_pattern!r}"
    return None


def explain(push: PushEvent, sources: list[RepositorySource]) -> list[Verdict]:
    """Every source and binding that shares the event's repository, and why each was kept or
    dropped. Mirrors the SQL of the matching query; a test holds the two together."""
    verdicts = []
    for source in sources:
        dropped = source_drop_reason(push, source)
        if dropped is not None:
            verdicts.append(Verdict(source.source_id, source.source_name, None, False, dropped))
            continue
        if not source.bindings:
            verdicts.append(
                Verdict(source.source_id, source.source_name, None, False, "no bindings")
            )
        for binding in source.bindings:
            reason = binding_drop_reason(push, binding)
            verdicts.append(
                Verdict(
                    source.source_id,
                    source.source_name,
                    binding.space_slug,
                    reason is None,
                    reason or "matched",
                )
            )
    return verdicts
