"""What the Docker tests share: a Docker engine, compose and the node image, or a skip (a
failure under CI=true)."""

from __future__ import annotations

import asyncio
import os

import pytest

from raftkv.tf import compose_cli
from raftkv.tf.compose_deployer import configured_image


def require_docker_and_image(what: str) -> str:
    """The node image's tag, once the engine, compose and the image are there."""
    problem = asyncio.run(compose_cli.engine_problem()) or asyncio.run(
        compose_cli.compose_problem()
    )
    image = configured_image()
    if problem is None and not asyncio.run(compose_cli.image_exists(image)):
        problem = f"the node image {image} is missing; run scripts/build-image.sh"
    if problem is None:
        return image
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {what} cannot run: {problem}")
    pytest.skip(f"{what} cannot run: {problem}")
