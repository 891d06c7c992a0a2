"""Runs `docker` and `docker compose` commands for the compose deployer (asyncio, no shell);
the k8s deployer runs kubectl through the same `run`.

Every failure raises a `CommandError` with the command line and the tail of its stderr,
so a failed scenario says which Docker step broke and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import dataclass

from raftkv.core.errors import RaftKVError

#: How much of a failed command's stderr goes into the error message.
STDERR_TAIL_CHARS = 2000


class CommandError(RaftKVError):
    """An external command (docker, kubectl) failed or timed out."""

    def __init__(self, argv: list[str], reason: str) -> None:
        super().__init__(f"`{' '.join(argv)}` failed: {reason}")
        self.argv = argv
        self.reason = reason


class DockerCommandError(CommandError):
    """A docker command failed or timed out."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


async def run(
    argv: list[str],
    timeout: float,
    check: bool = True,
    error: type[CommandError] = DockerCommandError,
) -> CommandResult:
    """Runs `argv`; with `check`, a non-zero exit raises `error`. On timeout or
    cancellation the process is killed before the exception leaves."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        raise error(argv, f"no answer within {timeout:.0f} s") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    result = CommandResult(
        await process.wait(), stdout.decode(errors="replace"), stderr.decode(errors="replace")
    )
    if check and result.returncode != 0:
        detail = result.stderr.strip()[-STDERR_TAIL_CHARS:] or f"exit code {result.returncode}"
        raise error(argv, detail)
    return result


async def engine_problem(timeout: float = 15.0) -> str | None:
    """None when a Docker engine answers, else why not (one line)."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    try:
        result = await run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], timeout, check=False
        )
    except DockerCommandError as failure:
        return failure.reason
    if result.returncode != 0 or not result.stdout.strip():
        lines = result.stderr.strip().splitlines()
        return lines[-1] if lines else f"docker info exited with {result.returncode}"
    return None


async def compose_problem(timeout: float = 15.0) -> str | None:
    """None when the Compose v2 plugin answers, else why not (one line)."""
    result = await run(["docker", "compose", "version"], timeout, check=False)
    if result.returncode != 0:
        return "the Docker Compose v2 plugin is missing (`docker compose version` failed)"
    return None


async def image_exists(image: str, timeout: float = 30.0) -> bool:
    result = await run(["docker", "image", "inspect", image], timeout, check=False)
    return result.returncode == 0
