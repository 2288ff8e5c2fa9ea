"""A chat-completions client for the LLM agent: the official ``openai`` SDK against any
OpenAI-compatible API (OpenAI, or a self-hosted model server through ``base_url``).

Only transport errors (no connection, a timeout) and rate limits (429) are retried, with
backoff (a 429's ``Retry-After`` is honoured, up to ``MAX_RETRY_AFTER_SECONDS``); any other
answer fails at once with ``LLMError``. The API key goes to this client only: it is registered
with the redaction helper when the client is made, the SDK's own retries are off (ours decide),
and nothing the SDK would pick up from the process environment besides it (organisation,
project, admin key, custom headers) is sent. See docs/agents.md.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jrn_dagster.ports.agent import AgentError
from jrn_dagster.redaction import redact, register_secret

DEFAULT_RETRY_DELAYS = (1.0, 4.0, 10.0)
MAX_RETRY_AFTER_SECONDS = 30.0
MAX_ERROR_CHARS = 300

if TYPE_CHECKING:  # the SDK is imported when a client is made: not when the code location loads
    import openai


class LLMError(AgentError):
    """The LLM API could not give an answer; the message says why (redacted)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


@dataclass(frozen=True)
class ChatAnswer:
    content: str | None
    finish_reason: str | None


def _retry_after(error: "openai.APIStatusError") -> float | None:
    value = error.response.headers.get("retry-after")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None


def _said(error: "openai.APIError") -> str:
    """What the API said: the error body's message when it has one (an API's text is not
    trusted: one line, redacted, bounded)."""
    body = error.body
    said = body.get("message") if isinstance(body, dict) else None
    text = said if isinstance(said, str) and said else str(error.message)
    return redact(" ".join(text.split()))[:MAX_ERROR_CHARS]


class ChatCompletionsClient:
    """``complete(messages)``: one chat completion, retried as the module says."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_seconds: float = 120.0,
        max_retries: int = 3,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise LLMError("no API key for the LLM API: set the variable JRN_LLM_API_KEY_ENV names")
        register_secret(api_key)
        self.model = model
        self.base_url = base_url
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self._delays = tuple(retry_delays) or (0.0,)
        self._sleep = sleep
        import openai

        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url or "https://api.openai.com/v1",
            timeout=timeout_seconds,
            max_retries=0,
        )
        # The SDK reads these from the environment; the orchestrator's must not be sent.
        self._client.organization = None
        self._client.project = None
        self._client.admin_api_key = None
        self._client.webhook_secret = None
        self._client._custom_headers = {}  # OPENAI_CUSTOM_HEADERS: never ours

    def _delay(self, attempt: int) -> float:
        return self._delays[min(attempt, len(self._delays) - 1)]

    def complete(self, messages: list[dict[str, str]]) -> ChatAnswer:
        import openai

        attempts = self.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type] - role/content dicts
                )
            except openai.APITimeoutError:
                if last:
                    raise LLMError(
                        f"the LLM API did not answer within {self.timeout_seconds:g} s "
                        f"({attempts} attempt(s))"
                    ) from None
                self._sleep(self._delay(attempt))
            except openai.APIConnectionError as error:
                if last:
                    raise LLMError(
                        f"cannot reach the LLM API at {self._client.base_url} ({attempts} "
                        f"attempt(s)): {_said(error)}"
                    ) from None
                self._sleep(self._delay(attempt))
            except openai.RateLimitError as error:
                if last:
                    raise LLMError(
                        f"the LLM API is rate limiting us (429) after {attempts} attempt(s): "
                        f"{_said(error)}"
                    ) from None
                wait = _retry_after(error)
                self._sleep(self._delay(attempt) if wait is None else wait)
            except openai.APIStatusError as error:
                raise LLMError(
                    f"the LLM API refused the request ({error.status_code}): {_said(error)}"
                ) from None
            except openai.APIError as error:
                raise LLMError(f"the LLM API gave no usable answer: {_said(error)}") from None
            else:
                if not response.choices:
                    return ChatAnswer(content=None, finish_reason=None)
                choice = response.choices[0]
                return ChatAnswer(
                    content=choice.message.content, finish_reason=choice.finish_reason
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
