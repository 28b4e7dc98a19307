"""The committed notebooks read as lessons: their prose teaches and names no run, machine, date
or commit (those facts live in the results file and in the one generated provenance line of the
header)."""
import json
import re

import pytest

from course.paths import PROJECT_ROOT
from course.notebooks import PROVENANCE

COMMITTED = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))

DATE = re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b|\b(?:January|February|March|April|May|June|July|August|September|"
                  r"October|November|December) 20\d\d\b")
COMMIT = re.compile(r"\bcommit\b|(?<![\w#/.-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}(?![\w/.-])")
MACHINE = re.compile(r"\bAVX|\bx86|\baarch64|\b(?:H100|H200|A100|V100|RTX ?\d+)\b|\b(?:\d+|two|four)-core\b|\b\d+ (?:cores|threads)\b|"
                     r"\b(?:CPU|GPU): ")


def prose(notebook: dict) -> list[str]:
    """The Markdown cells' texts, without the generated provenance line."""
    return ["".join(cell["source"]) for cell in notebook["cells"]
            if cell["cell_type"] == "markdown" and PROVENANCE not in cell.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.stem)
def test_prose_names_no_date_commit_or_machine(path):
    for text in prose(json.loads(path.read_text())):
        for kind, pattern in (("a date", DATE), ("a commit", COMMIT), ("a machine", MACHINE)):
            found = pattern.search(text)
            assert not found, f"{path.name}: {kind} in the prose ({found.group()!r}): {text[:300]}"


#: What a tutorial's bookkeeping calls: results files, the main job's rows, the closing cell.
BOOKKEEPING = re.compile(r"\b(?:course\.finish|results\.save|summary\.record)\(")


def printed_tables(notebook: dict) -> list[str]:
    """The Markdown tables (runs of lines starting with '|') in the notebook's text outputs."""
    tables = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) or "".join(output.get("data", {}).get("text/plain", ""))
            tables += ["\n".join(block) for block in _runs(text.splitlines()) if len(block) >= 3]
    return tables


def _runs(lines):
    block = []
    for line in lines + [""]:
        if line.startswith("|"):
            block.append(line)
        elif block:
            yield block
            block = []


def test_printed_tables_finds_each_table():
    notebook = {"cells": [{"outputs": [{"text": "a\n| m | x |\n|---|---|\n| b | 1 |\nend\n| m |\n|---|\n| c |\n"}]}]}
    assert printed_tables(notebook) == ["| m | x |\n|---|---|\n| b | 1 |", "| m |\n|---|\n| c |"]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.stem)
def test_no_results_table_is_printed_twice(path):
    tables = printed_tables(json.loads(path.read_text()))
    repeated = {table for table in tables if tables.count(table) > 1}
    assert not repeated, f"{path.name} prints this table more than once:\n{next(iter(repeated), '')}"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.stem)
def test_the_bookkeeping_is_one_closing_cell(path):
    """Saving results and recording summary rows is one call (course.finish) in the last code cell."""
    code = ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]
    calls = [index for index, source in enumerate(code) if BOOKKEEPING.search(source)]
    assert calls == [len(code) - 1], f"{path.name}: bookkeeping in code cells {calls} of {len(code)}"
    assert len(BOOKKEEPING.findall(code[-1])) == 1 and "course.finish(" in code[-1], path.name


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.stem)
def test_the_header_names_the_run_shown_in_one_generated_line(path):
    notebook = json.loads(path.read_text())
    lines = ["".join(cell["source"]) for cell in notebook["cells"][:3]
             if PROVENANCE in cell.get("metadata", {}).get("tags", [])]
    assert len(lines) == 1, f"{path.name}: no provenance cell among the first three"
    result = json.loads((PROJECT_ROOT / "results" / "full" / f"{path.stem}.json").read_text())
    assert re.fullmatch(r"\*Outputs shown: the full run, `.+`, on .+, \d{4}-\d\d-\d\d \(.+\)\.\*", lines[0]), lines[0]
    assert result["date"] in lines[0] and result["command"] in lines[0] and result["machine"] in lines[0]


def test_the_patterns_catch_what_they_are_for():
    assert DATE.search("the 2026-11-26 run") and DATE.search("in November 2026")
    assert COMMIT.search("at commit c1266d9") and COMMIT.search("see `c1266d9`")
    assert not COMMIT.search("colour #1f77b4, 3e4a5b6 is not hex here?".replace("3e4a5b6", "0.001"))
    for machine in ("a 2-core CPU", "AVX-512-BF16", "an NVIDIA H200", "x86-64", "2 threads", "CPU: x86_64"):
        assert MACHINE.search(machine), machine
    for fine in ("on a laptop CPU", "bfloat16 where the hardware computes it natively", "a GPU user"):
        assert not MACHINE.search(fine), fine

