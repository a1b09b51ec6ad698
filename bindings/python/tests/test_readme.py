"""The example in the README works when pasted: it is taken from the file and run as is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import DOCS


def python_example() -> str:
    text = DOCS.read_text()
    section = text[text.index("### Python"):text.index("### Node.js")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the README must hold exactly one Python example"
    return blocks[0]


def test_the_example_is_ten_lines() -> None:
    assert len(python_example().splitlines()) == 10


def test_the_example_runs_as_pasted(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(python_example())
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"website sec_[0-9a-f]{32}", lines[0])
    assert lines[1] == "write website"
    assert (tmp_path / "example.db").is_file()
