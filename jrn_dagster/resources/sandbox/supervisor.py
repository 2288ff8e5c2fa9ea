"""The wrapper every E2B command runs under: a timeout that stops the command's whole tree.

coreutils ``timeout`` is not enough: it stops waiting as soon as its direct child exits, so a
grandchild that ignores SIGTERM (or was started in the background) survives it. This script gives
E2B commands the local sandbox's semantics:

- the command runs in a new session (``setsid``), so its process group id is its pid;
- a watchdog (in its own session) sends SIGTERM to that group when the limit passes, then SIGKILL
  after the grace period;
- when the command ends, for whatever reason, whatever is left in its group is killed, and so is
  the watchdog (disowned, so bash reports neither job on stderr);
- the exit code is the command's, or 124 when the limit was reached (as ``timeout`` reports it).

It needs bash, ``sleep`` and util-linux ``setsid`` in the template (Debian and Ubuntu images
have them).
"""

import shlex
from collections.abc import Sequence

TIMED_OUT_EXIT_CODE = 124

SUPERVISOR_SCRIPT = r"""timed_out=0
trap 'timed_out=1' USR1
limit=$1 grace=$2
shift 2
setsid "$@" &
pid=$!
setsid bash -c 'sleep "$1"; kill -USR1 "$2"; kill -TERM -- "-$3"; sleep "$4"; kill -KILL -- "-$3"' \
  watchdog "$limit" "$$" "$pid" "$grace" >/dev/null 2>&1 </dev/null &
watchdog=$!
disown "$watchdog"
while :; do
  wait "$pid" 2>/dev/null
  code=$?
  kill -0 "$pid" 2>/dev/null || break
done
kill -KILL -- "-$pid" "-$watchdog" 2>/dev/null
[ "$timed_out" = 1 ] && exit 124
exit "$code"
"""


def supervised_command(argv: Sequence[str], *, timeout: float, grace: float) -> str:
    """The shell command line (for ``bash -c``) that runs ``argv`` under the supervisor. Every
    argument is quoted: nothing in ``argv`` is interpreted by a shell."""
    return shlex.join(
        ["bash", "-c", SUPERVISOR_SCRIPT, "jrn-supervisor", f"{timeout:.3f}", f"{grace:.3f}", *argv]
    )
