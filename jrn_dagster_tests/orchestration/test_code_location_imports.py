"""The code location loads without the libraries only some runs use
(docs/operations.md#start-up-time).

Every run launched by Dagster imports ``jrn_dagster.definitions`` in a fresh process, and so do
the code server and each sensor tick's reload: what the import pulls in is paid on each of them.
Checked by what is imported, not by timing it.
"""

import json
import os
import subprocess
import sys

import pytest

# Imported where they are used: E2B sandboxes, GitHub App tokens, migrations, the receiver.
DEFERRED = (
    "e2b",
    "openai",
    "httpx",
    "jwt",
    "cryptography",
    "alembic",
    "mako",
    "starlette",
    "uvicorn",
    "psycopg",
    "jrn_dagster.adapters.e2b_sandbox",
    "jrn_dagster.webhooks",
    "jrn_dagster.cli",
)

_PROBE = """
import json, sys
import jrn_dagster.definitions
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} | set(sys.modules))))
"""


@pytest.mark.parametrize("environ", [{}, {"JRN_SANDBOX": "e2b", "E2B_API_KEY": "e2b_test"}])
def test_loading_the_code_location_imports_no_deferred_library(environ: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={**_base_environment(), **environ},
    )
    imported = set(json.loads(result.stdout.splitlines()[-1]))

    assert sorted(imported.intersection(DEFERRED)) == []


def _base_environment() -> dict[str, str]:
    return {
        name: value for name, value in os.environ.items() if not name.startswith(("JRN_", "E2B_"))
    }
