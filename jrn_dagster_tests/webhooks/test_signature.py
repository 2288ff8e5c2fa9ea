import hashlib
import hmac

import pytest

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.webhooks.signature import require_secret, sign, verify_signature
from jrn_dagster_tests.support.github import sign as github_sign

SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"


def test_matches_githubs_documented_example() -> None:
    # docs.github.com, "Validating webhook deliveries": this secret and payload give this header.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    assert sign(BODY, SECRET) == expected
    assert verify_signature(BODY, expected, SECRET)


def test_agrees_with_an_independent_implementation() -> None:
    body = b'{"ref":"refs/heads/main"}'
    assert sign(body, SECRET) == github_sign(body, SECRET)
    assert (
        sign(body, SECRET)
        == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    )


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 64,
        sign(BODY, "other secret"),
        sign(BODY + b" ", SECRET),
        sign(BODY, SECRET)[:-1],
        sign(BODY, SECRET) + "0",
        "sha256=" + "é" * 64,
    ],
)
def test_anything_but_the_right_signature_is_refused(header: str | None) -> None:
    assert not verify_signature(BODY, header, SECRET)


def test_hex_case_does_not_matter() -> None:
    header = sign(BODY, SECRET)
    assert verify_signature(BODY, "sha256=" + header.removeprefix("sha256=").upper(), SECRET)


@pytest.mark.parametrize("secret", [None, "", "  \t"])
def test_an_empty_secret_is_never_used(secret: str | None) -> None:
    with pytest.raises(InvalidInputError, match="refusing an empty webhook secret"):
        require_secret(secret)
    with pytest.raises(InvalidInputError):
        sign(BODY, secret or "")
    with pytest.raises(InvalidInputError):
        verify_signature(BODY, "sha256=" + "0" * 64, secret or "")
