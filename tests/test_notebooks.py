"""The committed notebooks are clean (no framework log lines, absolute paths, HTML leftovers or
per-run timings in tables; a header naming the run), and the cleaner does what it says."""
import json
import re

import nbformat
import pytest

from srlib.config import PROJECT_ROOT
from srlib.notebooks import clean

COMMITTED = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def output_texts(notebook: dict):
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                yield "".join(output["text"])
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/"):
                    yield "".join(value)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.stem)
def test_committed_outputs_are_clean(path):
    notebook = json.loads(path.read_text())
    for text in output_texts(notebook):
        assert "<IPython.core.display.HTML object>" not in text
        assert not re.search(r"(?<![\w.])/(?:root|home|work|tmp|usr)/", text), f"an absolute path: {text[:200]}"
        assert not re.search(r"^[IWE]\d{4} |Warning:|warnings\.warn", text, flags=re.M), f"a log line: {text[:200]}"
        assert "<th>time</th>" not in text, "a per-run timing in a table"
    header = "".join(notebook["cells"][0]["source"])
    assert re.search(r"outputs shown\*\* come from .*(fast|full) mode.*\d{4}-\d{2}-\d{2}", header, flags=re.S)


def test_clean_drops_progress_leftovers_and_time_columns():
    table = ("<div><table class=\"fastprogress\"><thead><tr><th>epoch</th><th>train_loss</th><th>time</th></tr>"
             "</thead><tbody><tr><td>0</td><td>0.5</td><td>00:08</td></tr></tbody></table></div>")
    outputs = [nbformat.v4.new_output("display_data", {"text/html": "<style>progress {}</style>",
                                                       "text/plain": "<IPython.core.display.HTML object>"}),
               nbformat.v4.new_output("display_data", {"text/html": "<div></div>", "text/plain": "<div></div>"}),
               nbformat.v4.new_output("display_data", {"text/html": table, "text/plain": table}),
               nbformat.v4.new_output("stream", name="stderr", text="epoch 1\rdone\n")]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("fit()", outputs=outputs)])
    clean(notebook)
    kept = notebook.cells[0].outputs
    assert len(kept) == 2
    assert "<th>time</th>" not in kept[0]["data"]["text/html"] and "00:08" not in kept[0]["data"]["text/plain"]
    assert "<td>0.5</td>" in kept[0]["data"]["text/html"]
    assert kept[1]["text"] == "done\n"


def test_ensure_runs_the_notebook_that_makes_a_missing_file(tmp_path, monkeypatch):
    from srlib import notebooks

    (tmp_path / "notebooks").mkdir()
    produced = tmp_path / "made.txt"
    source = f"from pathlib import Path\nPath({str(produced)!r}).write_text('made by the notebook')\nprint('ran')"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]),
                   tmp_path / "notebooks" / "02_maker.ipynb")
    monkeypatch.setattr(notebooks, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("SRLIB_MODE", "fast")
    assert notebooks.ensure("02_maker", produced) == produced
    assert produced.read_text() == "made by the notebook"
    executed = nbformat.read(tmp_path / "results" / "notebooks" / "fast" / "02_maker.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "ran\n"
    produced.write_text("already there")
    notebooks.ensure("02_maker", produced)  # present: the notebook does not run again
    assert produced.read_text() == "already there"
    with pytest.raises(FileNotFoundError, match="never.txt"):
        notebooks.ensure("02_maker", tmp_path / "never.txt")
