"""The LLM agent through the real ``openai`` SDK over real HTTP, against a local
chat-completions server: what a request carries, what becomes a proposal, what is refused and
why, and how rate limits, timeouts and errors end."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import Failure

from jrn_dagster.adapters.llm_client import ChatCompletionsClient, LLMError
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, DOCS, TOKEN_ENV
from jrn_dagster.domain.llm_prompt import RefusedAnswerError, accepted_content
from jrn_dagster.domain.records import ChangesetStatus
from jrn_dagster.domain.steps import Proposals
from jrn_dagster.ops.cli_impact import agent, sync_back
from jrn_dagster.redaction import REDACTED, redact
from jrn_dagster.resources.agent import LLMAgentResource
from jrn_dagster_tests.support.agent_steps import push_commits, up_to_agent
from jrn_dagster_tests.support.chat_server import ChatServer, Reply, chat_server
from jrn_dagster_tests.support.flow import Flow, demo_flow

API_KEY = "sk-test-llm-key-0123456789abcdef"
GIT_TOKEN = "ghp_" + "T" * 36
ROUTES = "reference/routes.md"
ORIGINAL = DOCS[API_SPACE][ROUTES]
SIZE = len(ORIGINAL.encode())
NOT_JSON = 'the answer is not a JSON object {"path": ..., "content": ...}'
UPDATED = ORIGINAL + "\n- `GET /widgets/{id}`: one widget.\n"


def answer(path: str = ROUTES, content: str = UPDATED) -> str:
    return json.dumps({"path": path, "content": content})


@pytest.fixture
def flow(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    # What the orchestrator's environment may hold and the SDK would otherwise pick up.
    monkeypatch.setenv(TOKEN_ENV, GIT_TOKEN)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-the-environment")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-from-the-environment")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-Leak: custom-header-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-environments-own-key-000000")
    with demo_flow(database, tmp_path) as flow:
        yield flow


def _propose(
    flow: Flow, server: ChatServer, *, timeout: float = 10, retries: int = 2
) -> tuple[Proposals, int | None]:
    flow.resources["agent"] = LLMAgentResource(
        model="test-model",
        api_key=API_KEY,
        base_url=server.url,
        timeout_seconds=timeout,
        max_retries=retries,
        retry_delays_seconds=[0.0],
    )
    event_id = push_commits(
        flow,
        [
            (
                {"src/api/routes.py": 'ROUTES = ["/widgets", "/widgets/{id}"]\n'},
                "Add a route (#488)",
            ),
            ({"README.md": "# widgets\n"}, "Merge pull request #489 from acme/readme"),
        ],
    )
    with up_to_agent(flow, event_id) as step:
        proposals = agent(step.context, step.checkouts, step.synced, step.report)
        return proposals, sync_back(step.context, step.checkouts, proposals)


def test_the_request_carries_doc_evidence_commits_and_diff_and_the_answer_is_proposed(
    flow: Flow,
) -> None:
    with chat_server([Reply(content=answer())]) as server:
        proposals, changeset_id = _propose(flow, server)

    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "test-model"
    sent = request.user_message
    assert sent["path"] == ROUTES and sent["content"] == ORIGINAL
    assert [(e["changedFile"], e["pattern"]) for e in sent["evidence"]] == [
        ("src/api/routes.py", "src/api/**/*.py")
    ]
    [commits] = sent["commits"]
    assert [(c["subject"], c.get("prNumber")) for c in commits["commits"]] == [
        ("Merge pull request #489 from acme/readme", 489),
        ("Add a route (#488)", 488),
    ]
    [diff] = sent["diffs"]
    assert diff["path"] == "src/api/routes.py"
    assert '+ROUTES = ["/widgets", "/widgets/{id}"]' in diff["diff"]

    # The API key only in the Authorization header; nothing the environment holds besides.
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    others = {k: v for k, v in request.headers.items() if k != "authorization"}
    everything_else = json.dumps([others, request.body])
    for secret in (API_KEY, GIT_TOKEN, "custom-header-secret", "org-from-the", "proj-from-the"):
        assert secret not in everything_else
    assert "sk-the-environments-own-key" not in json.dumps(request.headers)
    assert redact(f"key={API_KEY}") == f"key={REDACTED}"

    [doc] = proposals.docs
    assert (doc.path, doc.content) == (ROUTES, UPDATED)
    assert proposals.refused == []
    with flow.database.unit_of_work() as uow:
        changeset = uow.changesets.get(changeset_id or 0)
    assert changeset.status is ChangesetStatus.OPEN
    assert [(d.path, d.proposed_content) for d in changeset.docs] == [(ROUTES, UPDATED)]
    assert changeset.docs[0].evidence[0].changed_file == "src/api/routes.py"
    assert changeset.commits[0].commits[1].pr_number == 488


def test_an_invalid_answer_is_refused_and_its_reason_recorded(flow: Flow) -> None:
    changed_rules = answer(content=ORIGINAL.replace("src/api/**/*.py", "nothing/*.py"))
    with chat_server([Reply(content=changed_rules)]) as server:
        proposals, changeset_id = _propose(flow, server)
    assert proposals.docs == []
    assert [(r.path, r.reason) for r in proposals.refused] == [
        (
            ROUTES,
            "the answer changed the frontmatter (attention rules included), which must stay "
            "exactly as it is",
        )
    ]
    with flow.database.unit_of_work() as uow:
        changeset = uow.changesets.get(changeset_id or 0)
    assert changeset.status is ChangesetStatus.EMPTY
    assert changeset.summary.endswith(f"; 1 answer(s) refused: {ROUTES}")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            answer(content=ORIGINAL.replace("src/api/**/*.py", "nothing/*.py")),
            "the answer changed the frontmatter (attention rules included), which must stay "
            "exactly as it is",
        ),
        (
            answer(content=ORIGINAL.replace("---\n", "", 1)),
            "the answer changed the frontmatter (attention rules included), which must stay "
            "exactly as it is",
        ),
        (
            answer(path="reference/models.md"),
            "the answer names 'reference/models.md', which is not an impacted doc",
        ),
        (
            answer(path="reference/other.md"),
            "the answer is for doc 'reference/other.md', not for the doc asked about",
        ),
        (
            answer(content=ORIGINAL + "x" * (70 * 1024)),
            f"the updated doc is {SIZE + 70 * 1024:,} bytes: over the limit of {SIZE + 65536:,} "
            f"bytes (the doc's {SIZE} bytes plus 65,536, at most 1,048,576)",
        ),
        ("Sure! Here is the doc: # API routes", NOT_JSON),
        ('["a list"]', NOT_JSON),
        ("", "the answer is empty"),
        (answer(content="x\0y"), "the updated doc contains a NUL character"),
    ],
    ids=[
        "rules-changed", "frontmatter-removed", "not-impacted-doc", "another-impacted-doc",
        "too-big", "not-json", "not-an-object", "empty", "nul",
    ],
)  # fmt: skip
def test_what_an_answer_must_be(reply: str, reason: str) -> None:
    with pytest.raises(RefusedAnswerError) as refused:
        accepted_content(
            reply,
            asked_path=ROUTES,
            impacted_paths={ROUTES, "reference/other.md"},
            original=ORIGINAL,
        )
    assert str(refused.value) == reason


def test_a_fenced_answer_is_accepted_and_a_cut_off_one_refused() -> None:
    fenced = f"```json\n{answer()}\n```"
    kept = accepted_content(fenced, asked_path=ROUTES, impacted_paths={ROUTES}, original=ORIGINAL)
    assert kept == UPDATED
    with pytest.raises(RefusedAnswerError, match="cut off"):
        accepted_content(
            answer(),
            asked_path=ROUTES,
            impacted_paths={ROUTES},
            original=ORIGINAL,
            finish_reason="length",
        )


def _client(server: ChatServer, *, timeout: float = 10, retries: int = 2) -> ChatCompletionsClient:
    return ChatCompletionsClient(
        model="test-model",
        api_key=API_KEY,
        base_url=server.url,
        timeout_seconds=timeout,
        max_retries=retries,
        retry_delays=[0.0],
    )


MESSAGES = [{"role": "user", "content": "{}"}]


def test_rate_limits_and_transport_errors_are_retried_with_backoff() -> None:
    limited = Reply(status=429, headers={"Retry-After": "0"})
    with chat_server([limited, limited, Reply(content=answer())]) as server:
        reply = _client(server, retries=2).complete(MESSAGES)
    assert len(server.requests) == 3
    assert reply.content == answer()
    slow = Reply(content="late", delay=1.0)
    with chat_server([slow, Reply(content="on time")]) as server:
        reply = _client(server, timeout=0.3, retries=1).complete(MESSAGES)
    assert reply.content == "on time"


@pytest.mark.parametrize(
    ("replies", "timeout", "requests", "message"),
    [
        (
            [Reply(status=429, headers={"Retry-After": "0"})],
            10,
            3,
            "the LLM API is rate limiting us (429) after 3 attempt(s): test error 429",
        ),
        (
            [Reply(content=answer(), delay=2.0)],
            0.3,
            3,
            "the LLM API did not answer within 0.3 s (3 attempt(s))",
        ),
        ([Reply(status=500)], 10, 1, "the LLM API refused the request (500): test error 500"),
        ([Reply(status=400)], 10, 1, "the LLM API refused the request (400): test error 400"),
    ],
    ids=["429-persists", "timeout", "server-error", "bad-request"],
)  # fmt: skip
def test_what_is_not_retried_or_retried_in_vain_is_a_clear_error(
    replies: list[Reply], timeout: float, requests: int, message: str
) -> None:
    with chat_server(replies) as server, pytest.raises(LLMError) as error:
        _client(server, timeout=timeout, retries=2).complete(MESSAGES)
    assert str(error.value) == message
    assert len(server.requests) == requests


def test_an_api_error_fails_the_agent_step_without_the_key(flow: Flow) -> None:
    with chat_server([Reply(status=401)]) as server, pytest.raises(Failure) as failure:
        _propose(flow, server)
    assert failure.value.description == (
        "agent: the LLM API refused the request (401): test error 401"
    )
    assert len(server.requests) == 1
    assert API_KEY not in str(failure.value.metadata)
