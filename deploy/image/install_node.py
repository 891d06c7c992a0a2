"""Installs raftkv into an image under construction (run by deploy/Dockerfile).

Usage: python3 install_node.py PROJECT_DIR PREFIX

If PROJECT_DIR/deploy/.prebuilt/site-packages exists (prepared on the host by
scripts/build-image.sh, for a base image without pip), it becomes PREFIX/site-packages.
Otherwise the project's wheel is built and installed with the base image's pip. Either way
the launchers go to PREFIX/bin, and the data and config directories are created and owned
by the node's numeric user. Only the standard library is used: the base may have nothing
else, not even a shell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NODE_UID = 10001
DATA_DIR = Path("/var/lib/raftkv")
CONFIG_DIR = Path("/etc/raftkv")
ALIAS = "openraft-kv-node"


def install_site_packages(project: Path, site_packages: Path) -> None:
    prebuilt = project / "deploy" / ".prebuilt" / "site-packages"
    if prebuilt.is_dir():
        shutil.copytree(prebuilt, site_packages)
        return
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
    with tempfile.TemporaryDirectory() as wheels:
        subprocess.run([*pip, "wheel", "--no-deps", "-w", wheels, str(project)], check=True)
        (wheel,) = Path(wheels).glob("raftkv-*.whl")
        target = ["--target", str(site_packages)]
        subprocess.run([*pip, "install", *target, f"{wheel}[fast]"], check=True)


def install_launchers(project: Path, bin_dir: Path) -> None:
    """Copies the launchers with this interpreter's absolute path as their `#!` line: the
    Debian-package base has no /usr/bin/env, python:3.11-slim has no /usr/bin/python3."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for launcher in (project / "deploy" / "image" / "bin").iterdir():
        body = launcher.read_text().split("\n", 1)[1]
        destination = bin_dir / launcher.name
        destination.write_text(f"#!{sys.executable}\n{body}")
        destination.chmod(0o755)
    # The reference node's name, for compose files and manifests written for it.
    shutil.copy2(bin_dir / "raftkv-node", bin_dir / ALIAS)


def make_node_dirs() -> None:
    for directory in (DATA_DIR, CONFIG_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    os.chown(DATA_DIR, NODE_UID, NODE_UID)


def main() -> None:
    project, prefix = Path(sys.argv[1]), Path(sys.argv[2])
    install_site_packages(project, prefix / "site-packages")
    install_launchers(project, prefix / "bin")
    make_node_dirs()
    print(f"raftkv installed under {prefix}")


if __name__ == "__main__":
    main()
