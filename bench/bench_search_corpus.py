"""The search benchmark's corpus: a realistic technical wiki generated from the Python standard library's own
documentation (docstrings), one page per public class or function, plus the labelled queries in
bench/data/search_queries.json (each names the page(s) that answer it). Run alone, it prints corpus figures.

Pages look like a team's reference wiki: ``zipfile/ZipFile.md`` titled "ZipFile", opening with the module's
summary, then the docstring, with headings for its methods.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
import warnings
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
QUERIES = DATA / "search_queries.json"
SKIP = re.compile(
    r"^(antigravity|this|idlelib|tkinter|turtle|turtledemo|lib2to3|ensurepip|venv|test|pydoc_data|"
    r"msvcrt|winreg|winsound|_.*|nt|sre_.*|crypt|nis|spwd|ossaudiodev|audioop|cgi|cgitb|chunk|imghdr|"
    r"mailcap|nntplib|pipes|sndhdr|sunau|telnetlib|uu|xdrlib|asynchat|asyncore|smtpd|distutils|imp)$"
)
EXTRA_MODULES = (
    "xml.etree.ElementTree",
    "urllib.parse",
    "urllib.request",
    "http.client",
    "http.server",
    "http.cookies",
    "email.message",
    "unittest.mock",
    "concurrent.futures",
    "importlib.resources",
    "logging.handlers",
    "os.path",
    "html.parser",
    "json.decoder",
    "multiprocessing.pool",
    "collections.abc",
)
MAX_METHODS = 8


def _modules() -> list[str]:
    names = sorted(n for n in sys.stdlib_module_names if not SKIP.match(n)) + list(EXTRA_MODULES)
    return sorted(set(names))


def _summary(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def _page(module_name: str, module_doc: str, name: str, obj: object) -> str | None:
    doc = inspect.getdoc(obj)
    if not doc or len(doc) < 60:
        return None
    parts = [f"# {name}", f"Part of the `{module_name}` module: {_summary(module_doc) or module_name}.", doc]
    if inspect.isclass(obj):
        methods = []
        for meth_name, meth in sorted(vars(obj).items()):
            meth_doc = inspect.getdoc(meth) if not meth_name.startswith("_") else None
            if meth_doc and len(meth_doc) > 40:
                methods.append(f"## {name}.{meth_name}\n\n{meth_doc}")
            if len(methods) >= MAX_METHODS:
                break
        parts += methods
    return "\n\n".join(parts) + "\n"


def build_corpus() -> dict[str, str]:
    """path → markdown, deterministic for a given Python version."""
    pages: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module_name in _modules():
            try:
                module = importlib.import_module(module_name)
            except Exception:  # noqa: BLE001, S112 - platform-specific modules are simply not in the corpus
                continue
            module_doc = inspect.getdoc(module) or ""
            for name, obj in sorted(vars(module).items()):
                if name.startswith("_") or not (inspect.isclass(obj) or inspect.isroutine(obj)):
                    continue
                if getattr(obj, "__module__", module_name) not in (module_name, f"_{module_name}"):
                    continue
                text = _page(module_name, module_doc, name, obj)
                if text:
                    pages[f"{module_name}/{name}.md"] = text
    return pages


def load_queries(pages: dict[str, str]) -> list[dict[str, object]]:
    """Labelled queries whose answer pages exist in this corpus."""
    queries = json.loads(QUERIES.read_text())
    return [q for q in queries if any(p in pages for p in q["pages"])]


if __name__ == "__main__":
    corpus = build_corpus()
    queries = json.loads(QUERIES.read_text())
    usable = load_queries(corpus)
    missing = sorted({p for q in queries for p in q["pages"] if p not in corpus})
    print(f"corpus: {len(corpus)} pages, {sum(len(t) for t in corpus.values()) / 1e6:.1f} MB of markdown")
    print(f"labelled queries: {len(usable)} usable of {len(queries)}")
    if missing:
        print("answer pages not in this Python's corpus:", ", ".join(missing))
