"""The compose stack under test, built from this checkout and reached only through Caddy on 127.0.0.1.

Each run gets its own compose project, image tag and free port, so several checkouts (or CI jobs) can run at
once on one Docker engine; ``down --volumes`` removes every container, network and volume it made.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from testcontainers.compose import DockerCompose

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "localhost"
# For load that is not about limits (benchmarks, the crash test): one credential may then make any number of calls.
# The limiter still runs (its Redis round trip is part of every measured call); it just never refuses.
UNLIMITED_AGENTS = {"MCP_RATE_LIMITS": '{"agent_call":[1000000000,60],"agent_write":[1000000000,60]}'}


class Stack:
    def __init__(self, compose: DockerCompose, project: str, port: int, env_file: Path) -> None:
        self.compose = compose
        self.project = project
        self.port = port
        self.env_file = env_file
        self.http = httpx.Client(timeout=30.0, follow_redirects=False)

    # -- HTTP through Caddy ----------------------------------------------------------------------------
    def host(self, slug: str | None = None) -> str:
        return f"{slug}.{DOMAIN}:{self.port}" if slug else f"{DOMAIN}:{self.port}"

    def url(self, path: str, slug: str | None = None) -> str:
        return f"http://{self.host(slug)}{path}"

    def request(
        self, method: str, path: str, *, slug: str | None = None, host: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send to Caddy's published port on 127.0.0.1 with the given Host header (no DNS involved).

        Stateless: a cookie a response sets is never sent again by this client (tests pass cookies
        explicitly), so one test signing in cannot turn a later test's anonymous request into a signed-in one.
        """
        headers = {"Host": host or self.host(slug), **kwargs.pop("headers", {})}
        try:
            return self.http.request(method, f"http://127.0.0.1:{self.port}{path}", headers=headers, **kwargs)
        finally:
            self.http.cookies.clear()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    # -- docker compose --------------------------------------------------------------------------------
    def compose_cmd(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        cmd = [*self.compose.compose_command_property, *args]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=check, timeout=timeout)

    def compose_stream(
        self, *args: str, stdin: Path | None = None, stdout: Path | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[bytes]:
        """A compose command reading a file on stdin or writing its stdout to one (binary), as an operator's
        shell redirection would; stdout is captured when no file is given, stderr always."""
        cmd = [*self.compose.compose_command_property, *args]
        with ExitStack() as files:
            source = files.enter_context(stdin.open("rb")) if stdin else subprocess.DEVNULL
            target = files.enter_context(stdout.open("wb")) if stdout else subprocess.PIPE
            return subprocess.run(
                cmd,
                cwd=ROOT,
                stdin=source,
                stdout=target,
                stderr=subprocess.PIPE,
                check=False,
                timeout=timeout,
            )

    def exec(self, service: str, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.compose_cmd("exec", "-T", service, *command, check=check)

    def ps(self) -> list[dict[str, Any]]:
        out = self.compose_cmd("ps", "--all", "--format", "json").stdout
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return rows

    def restart(self) -> None:
        """Stop and recreate every container, keeping the volumes (what an operator's restart does)."""
        self.compose_cmd("down")
        self.compose_cmd("up", "-d", "--wait")


def _tag() -> str:
    return "t" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]


@contextmanager
def running_stack(
    extra_env: dict[str, str] | None = None, files: tuple[str, ...] = ("compose.yaml",)
) -> Iterator[Stack]:
    port = free_port()
    project = f"wbtest{os.getpid()}{int(time.time()) % 100000}"
    env = {
        "COMPOSE_PROJECT_NAME": project,
        "WIKIBOT_TAG": os.environ.get("WIKIBOT_TAG", _tag()),
        "HTTP_PORT": str(port),
        "PUBLIC_PORT": str(port),
        "HTTPS_PORT": str(free_port()),
        "DOMAIN": DOMAIN,
        **(extra_env or {}),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as fh:
        fh.write("".join(f"{k}={v}\n" for k, v in env.items()))
        env_file = Path(fh.name)
    compose = DockerCompose(
        ROOT, compose_file_name=list(files), build=True, wait=True, env_file=str(env_file)
    )
    stack = Stack(compose, project, port, env_file)
    try:
        compose.start()
        yield stack
    except subprocess.CalledProcessError as exc:
        logs = stack.compose_cmd("logs", "--no-color", "--tail", "50", check=False).stdout
        raise RuntimeError(f"compose failed: {exc.stderr}\n{logs}") from exc
    finally:
        stack.http.close()
        compose.stop(down=True)
        env_file.unlink(missing_ok=True)
