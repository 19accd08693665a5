"""The README cannot drift from the code.

Every ``neurocl`` command line in the README's shell blocks must name an existing command and
only options that command accepts; the block marked ``<!-- tested -->`` runs for real on the
bundled sample data.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def _commands(text: str) -> list[str]:
    lines: list[str] = []
    for block in BLOCK.findall(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].split(" | ")[0].strip()
            if line.startswith("neurocl "):
                lines.append(line)
    return lines


@cache
def _help(words: tuple[str, ...]) -> str:
    proc = subprocess.run([sys.executable, "-m", "neurocl", *words, "--help"],
                          capture_output=True, text=True, timeout=120)
    return proc.stdout if proc.returncode == 0 else ""


def _readme() -> str:
    if not README.is_file():
        pytest.skip("not run from a source checkout")
    return README.read_text()


def test_every_documented_option_exists():
    problems = []
    for line in _commands(_readme()):
        words = shlex.split(line.replace("...", ""))[1:]
        path: list[str] = []
        for word in words:
            if word.startswith("-") or "/" in word or "." in word:
                break
            if not _help((*path, word)):
                break
            path.append(word)
        if not path:
            problems.append(f"unknown command: {line}")
            continue
        help_text = _help(tuple(path))
        for word in words:
            option = word.split("=")[0]
            if option.startswith("--") and option not in help_text:
                problems.append(f"{' '.join(path)}: no option {option}")
    assert problems == []


def test_tested_block_runs_on_sample_data(tmp_path):
    text = _readme()
    marked = text.split("<!-- tested -->", 1)
    assert len(marked) == 2, "the README lost its tested block"
    block = BLOCK.search(marked[1]).group(1)
    from neurocl.sample_data import path as sample_path

    (tmp_path / "sample_data").symlink_to(sample_path())
    for line in block.strip().splitlines():
        args = shlex.split(line)[1:]
        proc = subprocess.run([sys.executable, "-m", "neurocl", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{line}\n{proc.stderr[-800:]}"
    assert (tmp_path / "report.html").is_file()
