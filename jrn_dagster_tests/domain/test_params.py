import json

import pytest
from pydantic import ValidationError

from jrn_dagster.domain.steps import CliImpactJobParams, run_key

JRN = "jrn::path:/home/global/sources/github/acme/widgets/main"


def test_json_uses_the_seed_names_and_python_uses_snake_case() -> None:
    params = CliImpactJobParams(
        source_id=3,
        integration_id=1,
        event_jrn=JRN,
        head_sha="b" * 40,
        base_sha="a" * 40,
        affected_space_ids=[5, 2, 5],
    )
    assert params.affected_space_ids == [2, 5]
    as_json = params.to_json_dict()
    assert list(as_json) == [
        "sourceId",
        "integrationId",
        "eventJrn",
        "headSha",
        "baseSha",
        "affectedSpaceIds",
    ]
    round_trip = CliImpactJobParams.model_validate_json(json.dumps(as_json))
    assert round_trip == params


def test_run_keys_name_the_pushes_not_the_head() -> None:
    """A rewind to a head processed before is a new push, so a new key (docs/cursors.md)."""
    assert run_key(3, [12], "api-docs") == "3@12|api-docs"
    assert run_key(3, [14, 12, 13], "api-docs") == "3@12-14|api-docs"
    assert run_key(3, [15], "api-docs") != run_key(3, [12], "api-docs")
    assert run_key(3, [], "api-docs", head_sha="b" * 40) == f"3@{'b' * 40}|api-docs"


def test_optional_shas_and_validation() -> None:
    params = CliImpactJobParams.model_validate(
        {"sourceId": 1, "integrationId": 1, "eventJrn": JRN, "affectedSpaceIds": [1]}
    )
    assert params.head_sha is None
    assert params.base_sha is None
    with pytest.raises(ValidationError, match="hex digit"):
        CliImpactJobParams(
            source_id=1, integration_id=1, event_jrn=JRN, head_sha="HEAD", affected_space_ids=[1]
        )
    with pytest.raises(ValidationError):
        CliImpactJobParams(source_id=1, integration_id=1, event_jrn=JRN, affected_space_ids=[])
    with pytest.raises(ValidationError):
        CliImpactJobParams.model_validate(
            {"sourceId": 1, "integrationId": 1, "eventJrn": JRN, "affectedSpaceIds": [1], "x": 1}
        )
