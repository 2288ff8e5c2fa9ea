"""A code location for the run launcher tests (jrn_dagster.run_launcher): its op records the
process it runs in, and can wait for a file, so that a test can stop it midway."""

import json
import os
import time
from pathlib import Path

from dagster import Definitions, Field, OpExecutionContext, in_process_executor, job, op

WAIT_LIMIT_SECONDS = 120


@op(config_schema={"record": str, "wait_for": Field(str, is_required=False)})
def record_process(context: OpExecutionContext) -> None:
    cmdline = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    Path(context.op_config["record"]).write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "ppid": os.getppid(),
                "cmdline": cmdline,
                # What the run's tags were when its worker loaded it.
                "worker_tag": context.run.tags.get("jrn/run_worker"),
            }
        )
    )
    wait_for = context.op_config.get("wait_for")
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while wait_for and not Path(wait_for).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@job(executor_def=in_process_executor)  # the op runs in the run worker itself
def recorded() -> None:
    record_process()


defs = Definitions(jobs=[recorded])
