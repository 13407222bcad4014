"""Every Python block of the README runs when pasted, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python examples"
    namespace: dict[str, object] = {}
    for index, block in enumerate(blocks):
        try:
            exec(compile(block, f"README block {index}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message says which block failed
            raise AssertionError(f"README python block {index} failed: {exc!r}\n{block}") from exc
    assert namespace["result"] is not None


def test_readme_examples_import_public_names_from_the_package_not_its_modules():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    internal = [line for block in blocks for line in block.splitlines()
                if re.match(r"\s*(from|import) crystallize\.(core|execution|cli|report)\b", line)]
    assert internal == []  # `from crystallize import ...` (the stats and store subpackages are public)
