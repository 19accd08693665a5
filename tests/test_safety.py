"""Nothing is ever loaded with pickle."""

from __future__ import annotations

import re
from pathlib import Path

import neurocl

PACKAGE = Path(neurocl.__file__).resolve().parent
CLI = PACKAGE.parent / "cli" if (PACKAGE.parent / "cli").is_dir() else PACKAGE / "cli"
FORBIDDEN = re.compile(
    r"allow_pickle\s*=\s*True|weights_only\s*=\s*False|^\s*import\s+pickle|^\s*from\s+pickle"
    r"|\bcloudpickle\b|\bdill\b|\bjoblib\.load\(|pd\.read_pickle|\.to_pickle\(",
    re.MULTILINE,
)


def _sources():
    for root in (PACKAGE, CLI):
        yield from sorted(root.rglob("*.py"))


def test_no_pickle_in_package():
    hits = []
    for path in _sources():
        for match in FORBIDDEN.finditer(path.read_text()):
            line = path.read_text()[: match.start()].count("\n") + 1
            hits.append(f"{path.name}:{line}: {match.group(0).strip()}")
    assert hits == []


def test_every_torch_load_is_weights_only():
    calls = []
    for path in _sources():
        text = path.read_text()
        for match in re.finditer(r"torch\.load\(", text):
            depth, i = 1, match.end()
            while depth and i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            if "weights_only=True" not in text[match.start() : i]:
                calls.append(f"{path.name}:{text[: match.start()].count(chr(10)) + 1}")
    assert calls == []


def test_every_np_load_refuses_pickle():
    calls = []
    for path in _sources():
        text = path.read_text()
        for match in re.finditer(r"np\.load\(", text):
            depth, i = 1, match.end()
            while depth and i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            if "allow_pickle=False" not in text[match.start() : i]:
                calls.append(f"{path.name}:{text[: match.start()].count(chr(10)) + 1}")
    assert calls == []
