"""The signing secret of Otterwiki's own cookie, made once on the data volume by whichever worker starts first.

Gunicorn starts its workers together; each runs ``create_app``, and so ``master_secret``. They used to race: one
created the file and the others could read it before it had been written ("secret.key is empty"), a worker
failed to boot and gunicorn's master shut down — a first ``make up`` that came up unhealthy."""

from __future__ import annotations

import multiprocessing
import secrets
import time
from pathlib import Path

import pytest

from wikibot_otterwiki.config import OtterwikiSettings
from wikibot_otterwiki.main import master_secret

WORKERS = 12


def _start(data_dir: str, ready: object, results: object) -> None:
    ready.wait()  # type: ignore[attr-defined]
    try:
        results.put(master_secret(OtterwikiSettings(data_dir=Path(data_dir))).hex())  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(f"error: {exc}")  # type: ignore[attr-defined]


def test_workers_starting_together_all_get_the_one_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = secrets.token_bytes

    def slow(n: int) -> bytes:  # a loaded machine: making the key takes a while (widens any race)
        time.sleep(0.2)
        return real(n)

    monkeypatch.setattr(secrets, "token_bytes", slow)
    context = multiprocessing.get_context("fork")  # the children inherit the slow maker
    for attempt in range(5):
        data_dir = tmp_path / str(attempt)
        ready, results = context.Barrier(WORKERS), context.Queue()
        workers = [
            context.Process(target=_start, args=(str(data_dir), ready, results)) for _ in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        got = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(30)
        assert not [g for g in got if g.startswith("error")], got
        assert len(set(got)) == 1
        assert len(bytes.fromhex(got[0])) == 32
        # a restart reads the same one; nothing is left beside it
        assert master_secret(OtterwikiSettings(data_dir=data_dir)).hex() == got[0]
        assert [p.name for p in (data_dir / "otterwiki").iterdir()] == ["secret.key"]
        assert (data_dir / "otterwiki" / "secret.key").stat().st_mode & 0o777 == 0o600


def test_the_setting_wins_over_the_file(tmp_path: Path) -> None:
    made = master_secret(OtterwikiSettings(data_dir=tmp_path))
    given = master_secret(OtterwikiSettings(data_dir=tmp_path, secret_key="from the environment"))
    assert given != made
    assert len(given) == 32
