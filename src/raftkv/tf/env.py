"""The environment variables of the reference framework, read the way it reads them.

Switches (`TF_KEEP_LOGS`, `COMPOSE_RUNNER_PRESERVE`, `K8S_RUNNER_PRESERVE`,
`K8S_RUNNER_REQUIRE_CLUSTER`, `K8S_RUNNER_DEBUG`, `SLOW_TEST_ENV`) are on for `1`, `true`
or `yes` (any case) and off otherwise. Durations (`*_TIMEOUT_SECS`) are seconds; a value
that is not a positive number is refused with a line naming the variable. With
`SLOW_TEST_ENV` on, readiness timeouts are doubled (`adjust_timeout`), as in the reference.
"""

from __future__ import annotations

import os

from raftkv.core.errors import RaftKVError

TRUE_WORDS = frozenset({"1", "true", "yes"})
SLOW_TEST_ENV = "SLOW_TEST_ENV"
SLOW_FACTOR = 2.0


class BadEnvironment(RaftKVError):
    """An environment variable with a value the framework cannot use; names it."""


def flag(name: str) -> bool:
    """Whether switch `name` is on (1, true or yes, in any case)."""
    return os.environ.get(name, "").strip().lower() in TRUE_WORDS


def any_flag(*names: str) -> bool:
    """Whether any of `names` (a variable and its aliases) is on."""
    return any(flag(name) for name in names)


def seconds(name: str, default: float) -> float:
    """The duration in `name` (seconds), else `default`."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise BadEnvironment(f"{name}={text!r}: not a number of seconds") from None
    if not value > 0:
        raise BadEnvironment(f"{name}={text!r}: must be positive")
    return value


def adjust_timeout(timeout: float) -> float:
    """`timeout`, doubled on a slow test machine (SLOW_TEST_ENV)."""
    return timeout * SLOW_FACTOR if flag(SLOW_TEST_ENV) else timeout


def text(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default
