"""Webhooks end to end inside the platform: made over the API, fed by real change notices on real Redis for
commits in a real repository, delivered by the worker to a real HTTP receiver that verifies every signature
with the Standard Webhooks reference library; in order, retried, given up on, redelivered, and safe."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook as Verifier

from services.platform.tests.support import Platform, make, share
from wikibot_platform.webhooks import outbound_for
from wikibot_platform.webhooks.worker import WebhookWorker
from wikibot_shared import git, queue
from wikibot_shared.models import WebhookDelivery
from wikibot_shared.safehttp import Policy, SafeHttp
from wikibot_shared.storage import Author, wiki_paths

ALICE_AUTHOR = Author.for_did("did:plc:agentxxxxxxxxxxxxxxxxxxx", "alice.test", via="Claude")


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: records what arrives; answers ``status`` (or each of ``script`` first)."""

    status: int = 204
    script: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    headers_out: dict[str, str] = field(default_factory=dict)
    url: str = ""

    def serve(self) -> Iterator[Receiver]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.script.pop(0) if receiver.script else receiver.status
                self.send_response(status)
                for name, value in receiver.headers_out.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _headers, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from Receiver().serve()


class Clock:
    """The worker's time: the real time, moved on by ``offset`` seconds (the back-off, without waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Hooks:
    platform: Platform
    owner: str
    worker: WebhookWorker
    clock: Clock

    @property
    def repo(self) -> Path:
        return wiki_paths(self.platform.settings.wikis_dir, "notes").repo

    def create(self, url: str, **body: Any) -> Any:
        return self.platform.client.post(
            "/api/wikis/notes/webhooks", json={"url": url, **body}, headers=self.platform.bearer(self.owner)
        )

    def api(self, method: str, path: str, **kw: Any) -> Any:
        return self.platform.client.request(
            method, f"/api/wikis/notes/webhooks{path}", headers=self.platform.bearer(self.owner), **kw
        )

    def commit(
        self,
        writes: dict[str, str],
        deletes: tuple[str, ...] = (),
        move: tuple[str, str] | None = None,
        notify: bool = True,
    ) -> str:
        """One commit as the mcp service makes it (an agent acting for alice), and its change notice."""
        repo = self.repo
        if move:
            git.run(repo, "mv", move[0], move[1])
        for path, text in writes.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
            git.run(repo, "add", "--", path)
        for path in deletes:
            git.run(repo, "rm", "-q", "--", path)
        git.run(repo, "commit", "-q", "-m", f"change {len(writes)}", env=ALICE_AUTHOR.env)
        sha = git.run(repo, "rev-parse", "HEAD").decode().strip()
        if notify:
            queue.notify_change(self.platform.app.state.redis, "notes", source="mcp", commit=sha)
        return sha

    def run(self, rounds: int = 30) -> None:
        """Intake and deliver until nothing more is due now."""
        for _ in range(rounds):
            queued = self.worker.intake()
            if not self.worker.deliver(wait=True) and not queued:
                return


@pytest.fixture
def hooks(platform: Platform) -> Iterator[Hooks]:
    owner = platform.user("alice")
    make(platform, owner)
    clock = Clock()
    box, http = outbound_for(platform.app)
    worker = WebhookWorker(
        platform.settings, platform.app.state.db, platform.app.state.redis, box, http, clock=clock
    )
    assert worker.lead()  # makes the consumer group at the stream's end
    yield Hooks(platform, owner, worker, clock)
    worker.pool.shutdown(wait=True)


def test_every_change_arrives_signed_and_in_order(hooks: Hooks, receiver: Receiver) -> None:
    made = hooks.create(receiver.url)
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    assert made.json()["kind"] == "standard"
    assert "secret" not in hooks.api("GET", "").json()[0]  # shown once

    first = hooks.commit({"Plan.md": "# Plan\n"})
    hooks.commit({"Plan.md": "# Plan\n\nv2\n", "Plan/diagram.png": "png"})
    moved = hooks.commit({}, move=("Plan.md", "Roadmap.md"))
    hooks.commit({}, deletes=("Plan/diagram.png",))
    hooks.run()

    verifier = Verifier(secret)
    for headers, body in receiver.received:
        verifier.verify(body, headers)  # raises if the signature or the timestamp is wrong
    assert [(b["type"], b["data"].get("page") or b["data"].get("attachment")) for b in receiver.bodies()] == [
        ("page.created", "Plan"),
        ("page.updated", "Plan"),  # a commit's files in path order
        ("attachment.created", "Plan/diagram.png"),
        ("page.renamed", "Roadmap"),
        ("attachment.deleted", "Plan/diagram.png"),
    ]
    created = receiver.bodies()[0]["data"]
    assert created["wiki"] == "notes"
    assert created["commit"] == first
    assert created["revision"] == git.run(hooks.repo, "rev-parse", f"{first}:Plan.md").decode().strip()
    assert created["author"] == {
        "name": "alice.test",
        "did": "did:plc:agentxxxxxxxxxxxxxxxxxxx",
        "app": "Claude",
    }
    assert created["url"] == "http://notes.localhost:8080/Plan"
    assert created["diff_url"] == f"http://notes.localhost:8080/-/commit/{first}"
    assert receiver.bodies()[3]["data"]["old_page"] == "Plan"
    assert receiver.bodies()[3]["data"]["commit"] == moved
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(set(ids)) == len(ids)
    deliveries = hooks.api("GET", f"/{made.json()['id']}/deliveries").json()
    assert [d["status"] for d in deliveries] == ["delivered"] * 5
    assert all(d["attempts"] == 1 and d["last_status_code"] == 204 for d in deliveries)


def test_a_push_of_many_commits_is_every_commit_in_order(hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(receiver.url, events=["page.created"])
    for i in range(5):
        last = hooks.commit({f"P{i}.md": f"# {i}\n"}, notify=False)
    queue.notify_change(hooks.platform.app.state.redis, "notes", source="git", commit=last)
    queue.notify_change(hooks.platform.app.state.redis, "notes", source="search", commit=last)  # a repeat
    hooks.run()
    assert [b["data"]["page"] for b in receiver.bodies()] == [f"P{i}" for i in range(5)]
    assert {b["data"]["source"] for b in receiver.bodies()} == {"git"}


def test_a_receiver_down_for_a_while_gets_everything_once_in_order(hooks: Hooks, receiver: Receiver) -> None:
    receiver.status = 503
    webhook = hooks.create(receiver.url).json()
    for i in range(3):
        hooks.commit({f"N{i}.md": f"# {i}\n"})
    hooks.run()
    assert len(receiver.received) == 1  # the first event, refused; the later ones wait behind it
    for _ in range(4):  # 5 s, 30 s, 2 min, 5 min later
        hooks.clock.offset += 400
        hooks.run()
    assert len(receiver.received) == 5
    assert {b["data"]["page"] for b in receiver.bodies()} == {"N0"}
    (head, *_rest) = sorted(hooks.api("GET", f"/{webhook['id']}/deliveries").json(), key=lambda d: d["id"])
    assert head["attempts"] == 5
    assert head["last_status_code"] == 503
    assert "answered 503" in head["last_error"]
    receiver.status = 200
    hooks.clock.offset += 1000
    hooks.run()
    pages = [b["data"]["page"] for b in receiver.bodies()]
    assert pages[5:] == ["N0", "N1", "N2"]  # back: everything, once, in order
    assert hooks.api("GET", "").json()[0]["pending"] == 0
    assert hooks.api("GET", "").json()[0]["failing_since"] is None


def test_a_crash_before_the_ack_loses_nothing_and_repeats_nothing(hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(receiver.url)
    hooks.commit({"A.md": "# A\n"})
    # the leader reads the notice and dies before it acknowledges (nor writes the outbox)
    read = queue.read_notices(hooks.platform.app.state.redis, "webhooks", "leader", block_ms=0)
    assert len(read) == 1
    hooks.commit({"B.md": "# B\n"})
    box, http = outbound_for(hooks.platform.app)
    state = hooks.platform.app.state
    again = WebhookWorker(hooks.platform.settings, state.db, state.redis, box, http, clock=hooks.clock)
    hooks.worker = again  # the next process: re-reads what was not acknowledged, then the rest
    hooks.run()
    hooks.worker._read_pending = True  # and once more, as after a second crash
    hooks.run()
    assert [b["data"]["page"] for b in receiver.bodies()] == ["A", "B"]
    assert queue.pending_count(state.redis, "webhooks") == 0
    again.pool.shutdown(wait=True)


def test_a_webhook_failing_for_a_day_is_disabled_and_can_be_enabled_again(
    hooks: Hooks, receiver: Receiver
) -> None:
    receiver.status = 500
    webhook = hooks.create(receiver.url).json()
    hooks.commit({"A.md": "# A\n"})
    hooks.run()
    for _ in range(12):
        hooks.clock.offset += 8 * 3600
        hooks.run()
    listed = hooks.api("GET", "").json()[0]
    assert listed["enabled"] is False
    assert "disabled after failing since" in listed["disabled_reason"]
    assert "answered 500" in listed["disabled_reason"]
    tried = len(receiver.received)
    hooks.commit({"B.md": "# B\n"})
    hooks.clock.offset += 8 * 3600
    hooks.run()
    assert len(receiver.received) == tried  # nothing is sent to a disabled webhook
    receiver.status = 200
    enabled = hooks.api("PATCH", f"/{webhook['id']}", json={"enabled": True})
    assert enabled.json()["enabled"] is True
    assert enabled.json()["disabled_reason"] is None
    hooks.run()
    assert receiver.bodies()[-1]["data"]["page"] == "A"  # what waited is delivered
    # by hand: the same event again, with the same webhook-id
    (delivery,) = hooks.api("GET", f"/{webhook['id']}/deliveries").json()
    again = hooks.api("POST", f"/{webhook['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.json()["status"] == "pending"
    hooks.run()
    assert (
        receiver.received[-1][0]["webhook-id"]
        == receiver.received[-2][0]["webhook-id"]
        == delivery["event_id"]
    )


def test_slack_and_discord_get_their_own_message_format(hooks: Hooks, receiver: Receiver) -> None:
    slack = hooks.create(receiver.url, kind="slack")
    discord = hooks.create(receiver.url, kind="discord", events=["page.created"])
    assert slack.json()["secret"] is None
    assert discord.status_code == 201
    hooks.commit({"Team/Launch *Plan*.md": "# Launch\n"})
    hooks.run()
    by_kind = {("text" in b): b for b in receiver.bodies()}
    assert by_kind[True]["text"] == (
        "<http://notes.localhost:8080/Team/Launch%20%2APlan%2A|Team/Launch *Plan*> created by alice.test "
        f"(via Claude) in notes (<http://notes.localhost:8080/-/commit/{git.run(hooks.repo, 'rev-parse', 'HEAD').decode().strip()}|"
        f"{git.run(hooks.repo, 'rev-parse', '--short=7', 'HEAD').decode().strip()}>)"
    )
    content = by_kind[False]["content"]
    assert content.startswith(
        "[Team/Launch \\*Plan\\*](<http://notes.localhost:8080/Team/Launch%20%2APlan%2A>) created by"
    )
    assert by_kind[False]["allowed_mentions"] == {"parse": []}
    assert all("webhook-signature" not in headers for headers, _ in receiver.received)


def test_redirects_are_not_followed(hooks: Hooks, receiver: Receiver) -> None:
    receiver.status = 302
    receiver.headers_out = {"Location": "http://169.254.169.254/latest/meta-data/"}
    webhook = hooks.create(receiver.url).json()
    hooks.commit({"A.md": "# A\n"})
    hooks.run()
    assert len(receiver.received) == 1
    (delivery,) = hooks.api("GET", f"/{webhook['id']}/deliveries").json()
    assert delivery["status"] == "pending"
    assert "answered 302 to http://169.254.169.254/" in delivery["last_error"]


def test_only_owners_manage_webhooks_and_bad_input_is_refused(hooks: Hooks, receiver: Receiver) -> None:
    platform = hooks.platform
    bob = platform.user("bob")
    share(platform, "notes", bob, "editor")
    as_editor = platform.client.get("/api/wikis/notes/webhooks", headers=platform.bearer(bob))
    assert as_editor.status_code == 403
    for body, code in [
        ({"url": receiver.url, "events": ["page.exploded"]}, 422),
        ({"url": receiver.url, "events": []}, 400),
        ({"url": receiver.url, "kind": "teams"}, 422),
        ({"url": "ftp://example.org/x"}, 400),
        ({"url": "http://user:pw@127.0.0.1/x"}, 400),
    ]:
        answer = hooks.api("POST", "", json=body)
        assert answer.status_code == code, (body, answer.text)
    assert hooks.api("GET", "").json() == []
    made = hooks.create(receiver.url).json()
    assert hooks.api("DELETE", f"/{made['id']}").status_code == 204
    assert hooks.api("GET", f"/{made['id']}/deliveries").status_code == 404


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://169.254.169.254/latest", "metadata"),
        ("https://[::1]/hook", "loopback"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://localhost/hook", "loopback"),
        ("http://example.org/hook", "only https"),
    ],
)
def test_unsafe_targets_are_refused_when_set(platform: Platform, url: str, reason: str) -> None:
    """With the production rules (no test widening): the URL's form and every address its host has."""
    platform.app.state.settings = platform.settings.model_copy(
        update={"outbound_allow_http": False, "outbound_allow_networks": ""}
    )
    owner = platform.user("alice")
    make(platform, owner)
    answer = platform.client.post(
        "/api/wikis/notes/webhooks", json={"url": url}, headers=platform.bearer(owner)
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_webhook_url"
    assert reason in answer.json()["message"]


def test_a_name_that_resolves_to_loopback_at_delivery_is_refused(hooks: Hooks) -> None:
    """DNS rebinding: accepted when set, the name later points at 127.0.0.1; the connection is never made."""
    strict = SafeHttp(Policy(allow_http=True), resolver=lambda host, port: ["127.0.0.1"])
    hooks.worker.http = strict
    outcome = hooks.worker.send(
        "standard", "http://rebind.example/hook", "evt_1", {"type": "x", "data": {}}, None
    )
    assert outcome.ok is False
    assert outcome.status_code is None
    assert "loopback" in (outcome.error or "")


def test_the_outbox_keeps_one_row_per_event(hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(receiver.url)
    sha = hooks.commit({"A.md": "# A\n"})
    queue.notify_change(hooks.platform.app.state.redis, "notes", source="mcp", commit=sha)
    hooks.worker.intake()
    hooks.worker.intake()
    with hooks.platform.app.state.db() as db:
        assert db.query(WebhookDelivery).count() == 1


def test_collaborator_changes_are_events_too(hooks: Hooks, receiver: Receiver) -> None:
    webhook = hooks.create(receiver.url, events=["member.added", "member.changed", "member.removed"]).json()
    slack = hooks.create(receiver.url, kind="slack", events=["member.added"]).json()
    platform = hooks.platform
    bob = platform.user("bob")
    headers = platform.bearer(hooks.owner)
    added = platform.client.post(
        "/api/wikis/notes/members", json={"did": bob, "role": "editor", "paths": ["Agents/"]}, headers=headers
    )
    assert added.status_code == 201
    platform.client.patch(f"/api/wikis/notes/members/{bob}", json={"role": "viewer"}, headers=headers)
    platform.client.delete(f"/api/wikis/notes/members/{bob}", headers=headers)
    hooks.commit({"A.md": "# A\n"})  # a page event none of them asked for
    hooks.run()
    standard = [b for b in receiver.bodies() if "type" in b]
    assert [b["type"] for b in standard] == ["member.added", "member.changed", "member.removed"]
    assert standard[0]["data"]["member"] == {
        "did": bob,
        "handle": "bob.test",
        "role": "editor",
        "paths": ["Agents/"],
    }
    assert standard[0]["data"]["by"] == hooks.owner
    assert [b["text"] for b in receiver.bodies() if "text" in b] == [
        "@bob.test added (editor) as a collaborator of notes"
    ]
    assert webhook["id"] != slack["id"]


def test_the_delivery_log_keeps_delivered_events_for_30_days(hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(receiver.url)
    hooks.commit({"A.md": "# A\n"})
    hooks.run()
    receiver.status = 500
    hooks.commit({"B.md": "# B\n"})
    hooks.run()
    hooks.clock.offset += 31 * 86400
    assert hooks.worker.prune() == 1  # the delivered one; the undelivered one stays, however old
    with hooks.platform.app.state.db() as db:
        assert [d.event_type for d in db.query(WebhookDelivery).all()] == ["page.created"]
        assert db.query(WebhookDelivery).one().status == "pending"


def test_a_wiki_without_webhooks_costs_no_git_and_keeps_no_cursor(hooks: Hooks, receiver: Receiver) -> None:
    from wikibot_shared.models import WebhookCursor

    hooks.commit({"Before.md": "# Before\n"})
    hooks.run()
    with hooks.platform.app.state.db() as db:
        assert db.get(WebhookCursor, "notes") is None
    hooks.create(receiver.url)  # starts at HEAD: what came before is not announced
    hooks.commit({"After.md": "# After\n"})
    hooks.run()
    assert [b["data"]["page"] for b in receiver.bodies()] == ["After"]


def test_proposal_events_from_the_agent_and_the_reviewer(hooks: Hooks, receiver: Receiver) -> None:
    """Opened and updated come from the mcp service's core (an agent writing on a wiki that reviews agents),
    approved from the platform; the approval's commit arrives as page events too."""
    from services.platform.tests.api.test_proposals import agent_of
    from wikibot_mcp.wiki import SearchClient, WikiCore

    platform = hooks.platform
    platform.client.patch(
        "/api/wikis/notes", json={"agents_propose": True}, headers=platform.bearer(hooks.owner)
    )
    hooks.create(
        receiver.url,
        events=[
            "proposal.opened",
            "proposal.updated",
            "proposal.approved",
            "proposal.rejected",
            "page.created",
        ],
    )
    slack = hooks.create(receiver.url, kind="slack", events=["proposal.approved"]).json()
    core = WikiCore(
        wikis_dir=platform.settings.wikis_dir,
        tiers=platform.settings.tiers,
        db=platform.app.state.db,
        redis_client=platform.app.state.redis,
        search=SearchClient("http://127.0.0.1:9", timeout=1),
        wiki_url=platform.settings.wiki_url,
    )
    bot = agent_of(platform, hooks.owner)
    core.write(bot, "Plan", "# Plan\n")
    core.write(bot, "Ideas", "# Ideas\n")
    hooks.run()
    approved = platform.client.post(
        "/api/wikis/notes/proposals/1/approve", json={"comment": "ok"}, headers=platform.bearer(hooks.owner)
    )
    assert approved.status_code == 200
    hooks.run()
    standard = [b for b in receiver.bodies() if "type" in b]
    assert [(b["type"], b["data"].get("page")) for b in standard] == [
        ("proposal.opened", None),
        ("proposal.updated", None),
        ("page.created", "Plan"),  # each of the agent's commits, as it made them
        ("page.created", "Ideas"),
        ("proposal.approved", None),
    ]
    done = standard[-1]["data"]["proposal"]
    assert (done["id"], done["state"], done["comment"], done["pages"]) == (
        1,
        "approved",
        "ok",
        ["Ideas", "Plan"],
    )
    assert done["url"].endswith("/app/wikis/notes/proposals/1")
    assert done["merged_commit"] == git.run(hooks.repo, "rev-parse", "HEAD").decode().strip()
    (chat,) = [b for b in receiver.bodies() if "text" in b]
    assert chat["text"].startswith("proposal <"), chat
    assert "approved by alice" in chat["text"], chat
    assert slack["kind"] == "slack"
