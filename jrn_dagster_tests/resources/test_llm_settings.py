"""``JRN_LLM_*`` select and configure the LLM agent; the API key stays an EnvVar name."""

import pytest
from dagster import EnvVar

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.resources.agent import (
    LLMAgentResource,
    NoticeAgentResource,
    agent_resource_from_env,
)


def test_jrn_llm_model_selects_the_llm_agent_with_its_settings() -> None:
    resource = agent_resource_from_env(
        {
            "JRN_LLM_MODEL": "qwen2.5-coder",
            "JRN_LLM_BASE_URL": "http://llm.internal:8000/v1",
            "JRN_LLM_API_KEY_ENV": "SELF_HOSTED_LLM_KEY",
            "JRN_LLM_TIMEOUT_SECONDS": "30",
            "JRN_LLM_MAX_RETRIES": "5",
        }
    )
    assert isinstance(resource, LLMAgentResource)
    assert resource.model == "qwen2.5-coder"
    assert resource.base_url == "http://llm.internal:8000/v1"
    assert (resource.timeout_seconds, resource.max_retries) == (30.0, 5)
    # Only the variable's name: Dagster resolves it when a run starts.
    assert resource.api_key == EnvVar("SELF_HOSTED_LLM_KEY")


def test_the_key_variable_defaults_to_openai_api_key() -> None:
    resource = agent_resource_from_env({"JRN_LLM_MODEL": "gpt-4.1-mini"})
    assert isinstance(resource, LLMAgentResource)
    assert resource.api_key == EnvVar("OPENAI_API_KEY")
    assert resource.base_url is None
    assert isinstance(agent_resource_from_env({}), NoticeAgentResource)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"JRN_LLM_MODEL": "m", "JRN_AGENT_COMMAND": "my-agent"},
            "both JRN_LLM_MODEL and JRN_AGENT_COMMAND are set: choose one agent",
        ),
        (
            {"JRN_LLM_MODEL": "m", "JRN_LLM_TIMEOUT_SECONDS": "soon"},
            "invalid JRN_LLM_TIMEOUT_SECONDS='soon': expected a number",
        ),
    ],
)
def test_inconsistent_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        agent_resource_from_env(environ)
    assert str(error.value) == message
