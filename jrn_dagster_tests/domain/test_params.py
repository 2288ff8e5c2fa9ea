import json

import pytest
from pydantic import ValidationError

from jrn_dagster.domain.params import CliImpactJobParams

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
    assert params.idempotency_key == f"3:{JRN}@{'b' * 40}"


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
