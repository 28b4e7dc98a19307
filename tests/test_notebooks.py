"""The committed notebooks are clean (no framework log lines, absolute paths, HTML leftovers or
per-run timings in tables), and the runner and its cleaner do what they say."""
import json
import re

import nbformat
import pytest

from course.paths import PROJECT_ROOT
from course.notebooks import clean, publish, read_source, stale_cells

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


def test_clean_makes_paths_in_the_project_relative():
    """train_sr printed its checkpoint's absolute path when resuming (tutorial 6's full run)."""
    from srlib.config import shown_path

    checkpoint = PROJECT_ROOT / "models" / "checkpoints" / "run" / "checkpoint.pt"
    text = f"{checkpoint}: resuming after step 2600\n/elsewhere/data.png: kept\n"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "train()", outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])])
    clean(notebook)
    assert notebook.cells[0].outputs[0]["text"] == ("models/checkpoints/run/checkpoint.pt: resuming after step 2600\n"
                                                    "/elsewhere/data.png: kept\n")
    assert str(shown_path(checkpoint)) == "models/checkpoints/run/checkpoint.pt"
    assert str(shown_path("/elsewhere/data.png")) == "/elsewhere/data.png"
    assert str(shown_path("models/a.pt")) == "models/a.pt"


def test_ensure_runs_the_notebook_that_makes_a_missing_file(tmp_path, monkeypatch):
    from course import notebooks

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


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.stem)
def test_committed_notebooks_hold_their_sources_code(path):
    """The outputs a reader sees come from the code beside them: cell for cell, the committed
    notebook is its source in notebooks/src (make notebooks / --publish keep them in step)."""
    source = (PROJECT_ROOT / "notebooks" / "src" / f"{path.stem}.py").read_text()
    assert stale_cells(nbformat.read(path, as_version=4), source) == []


def test_read_source_and_publish(tmp_path):
    source = ('# %% [markdown]\n# # Title\n# text\n\n# %% [markdown] tags=["provenance"]\n# not run yet\n\n'
              '# %% tags=["parameters"]\nMODE = "fast"\n\n# %%\nprint(MODE)\n')
    assert [c.source for c in read_source("\n\n" + source).cells] == [c.source for c in read_source(source).cells]
    cells = read_source(source).cells
    assert [(c.cell_type, c.source) for c in cells] == [("markdown", "# Title\ntext"), ("markdown", "not run yet"),
                                                         ("code", 'MODE = "fast"'), ("code", "print(MODE)")]
    assert [c.metadata for c in cells] == [{}, {"tags": ["provenance"]}, {"tags": ["parameters"]}, {}]
    assert [c["id"] for c in cells] == ["cell-00", "cell-01", "cell-02", "cell-03"]  # stable: no churn in diffs
    (tmp_path / "notebooks" / "src").mkdir(parents=True)
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(source)
    with pytest.raises(FileNotFoundError, match="not run in full mode"):
        publish("09_x", root=tmp_path)
    executed = read_source(source)
    executed.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="full\n")]
    (tmp_path / "results" / "notebooks" / "full").mkdir(parents=True)
    nbformat.write(executed, tmp_path / "results" / "notebooks" / "full" / "09_x.ipynb")
    (tmp_path / "results" / "full" / "09_x.json").parent.mkdir(parents=True)
    (tmp_path / "results" / "full" / "09_x.json").write_text(json.dumps(
        {"mode": "full", "command": "SRLIB_MODE=full python -m course.notebooks 09_x", "machine": "CPU: x86_64, 2 threads",
         "date": "2026-12-01", "software": "torch 2.14.1, Python 3.11.7"}))
    published = nbformat.read(publish("09_x", root=tmp_path), as_version=4)
    assert published.cells[3].outputs[0]["text"] == "full\n"
    assert published.cells[1].source == ("*Outputs shown: the full run, `SRLIB_MODE=full python -m course.notebooks 09_x`, "
                                         "on CPU: x86_64, 2 threads, 2026-12-01 (torch 2.14.1, Python 3.11.7).*")
    assert stale_cells(published, source) == []  # the generated line is not stale code
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(source.replace("print(MODE)", "print(MODE, 1)"))
    with pytest.raises(ValueError, match=r"cells \[3\] differ"):
        publish("09_x", root=tmp_path)
    assert nbformat.read(tmp_path / "notebooks" / "09_x.ipynb", as_version=4).cells[3].outputs[0]["text"] == "full\n"


def test_publish_refuses_before_running_anything(tmp_path, monkeypatch, capsys):
    """--publish checks what it would refuse afterwards before the (hours-long) run starts."""
    from course import notebooks

    source = '# %% [markdown]\n# # Title\n\n# %%\nraise SystemExit("ran")\n'
    (tmp_path / "notebooks" / "src").mkdir(parents=True)
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(source)
    nbformat.write(read_source(source.replace("# # Title", "# # Old title")), tmp_path / "notebooks" / "09_x.ipynb")
    monkeypatch.setattr(notebooks, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "run_all", lambda *args, **kwargs: pytest.fail("ran before refusing"))
    monkeypatch.setenv("SRLIB_MODE", "fast")  # main() sets it; monkeypatch restores it afterwards
    with pytest.raises(SystemExit):
        notebooks.main(["09_x", "--mode", "full", "--publish", "--output", str(tmp_path / "elsewhere")])
    assert "leave out --output" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        notebooks.main(["09_x", "--mode", "full", "--publish"])
    assert "cells [0] differ from notebooks/src/09_x.py" in capsys.readouterr().err


def test_update_text_rewrites_prose_and_keeps_outputs(tmp_path):
    from course.notebooks import update_text

    source = ('# %% [markdown]\n# # Title\n\n# %%\nprint(1)\n\n# %% [markdown]\n# It printed 2.\n\n'
              '# %% [markdown] tags=["provenance"]\n# not run yet\n')
    (tmp_path / "notebooks" / "src").mkdir(parents=True)
    notebook = read_source(source)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    notebook.cells[3].source = "*Outputs shown: the full run ...*"
    nbformat.write(notebook, tmp_path / "notebooks" / "09_x.ipynb")
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(source.replace("printed 2", "printed 1"))
    assert update_text("09_x", root=tmp_path) == [2]
    updated = nbformat.read(tmp_path / "notebooks" / "09_x.ipynb", as_version=4)
    assert updated.cells[2].source == "It printed 1." and updated.cells[1].outputs[0]["text"] == "1\n"
    assert updated.cells[3].source == "*Outputs shown: the full run ...*"  # the generated line stays
    assert update_text("09_x", root=tmp_path) == []
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(source.replace("print(1)", "print(2)"))
    with pytest.raises(ValueError, match=r"cells \[1\] differ .* in code or kind"):
        update_text("09_x", root=tmp_path)
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(source + "\n# %%\nprint(3)\n")
    with pytest.raises(ValueError, match=r"cells \[4\] differ"):
        update_text("09_x", root=tmp_path)
    assert nbformat.read(tmp_path / "notebooks" / "09_x.ipynb", as_version=4).cells[1].outputs[0]["text"] == "1\n"


def published_run(tmp_path, source: str, outputs: dict | None = None):
    """``tmp_path/notebooks/09_x.ipynb`` built from ``source`` as a published run: cell ``i``
    printed ``outputs[i]``. Returns the notebook."""
    (tmp_path / "notebooks" / "src").mkdir(parents=True, exist_ok=True)
    notebook = read_source(source)
    for index, text in (outputs or {}).items():
        notebook.cells[index].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nbformat.write(notebook, tmp_path / "notebooks" / "09_x.ipynb")
    return notebook


MOVES = {"srlib.losses_torch": "srlib.torch.losses", "srlib.edsr": "srlib.torch.edsr",
         "srlib.data_torch.to_tensor": "srlib.torch.to_tensor"}


@pytest.mark.parametrize("old, new, same", [
    # a module that moved, under the same local name, and a name taken from it
    ("from srlib import config, edsr\nfrom srlib.data_torch import to_tensor\nm = edsr.EDSR(2)\nx = to_tensor(m)",
     "from srlib import config\nfrom srlib.torch import edsr, to_tensor\nm = edsr.EDSR(2)\nx = to_tensor(m)", True),
    # a local name that changes with its module, in every use
    ("from srlib import losses_torch\nloss = losses_torch.FeatureLoss()",
     "from srlib.torch import losses\nloss = losses.FeatureLoss()", True),
    ("import srlib\nloss = srlib.losses_torch.FeatureLoss()", "import srlib\nloss = srlib.torch.losses.FeatureLoss()", True),
    # a change in what the code does is not a move
    ("from srlib import edsr\nm = edsr.EDSR(2)", "from srlib.torch import edsr\nm = edsr.EDSR(4)", False),
    ("from srlib import losses_torch\nloss = losses_torch.FeatureLoss()",
     "from srlib.torch import losses\nloss = losses_torch.FeatureLoss()", False),
    # text that names the module prints something else: run it again
    ('from srlib import edsr\nprint("srlib.edsr")', 'from srlib.torch import edsr\nprint("srlib.torch.edsr")', False),
    # an import to somewhere the moves do not say, or a used one dropped; an unused one may go
    ("from srlib import edsr\nm = edsr.EDSR(2)", "from srlib.keras import edsr\nm = edsr.EDSR(2)", False),
    ("from srlib import config, edsr\nm = edsr.EDSR(config.SCALE)", "from srlib.torch import edsr\nm = edsr.EDSR(config.SCALE)",
     False),
    ("from srlib import config, edsr\nm = edsr.EDSR(2)", "from srlib.torch import edsr\nm = edsr.EDSR(2)", True),
    # a name that moved out of its module on its own: reached through the module, it is not there
    ("from srlib import data_torch\nx = data_torch.to_tensor(1)", "from srlib.torch import data as data_torch\n"
     "x = data_torch.to_tensor(1)", False),
    ("from srlib import data_torch\nx = data_torch.to_tensor(1)", "from srlib.torch import to_tensor\nx = to_tensor(1)",
     True),
])
def test_only_imports_moved_tells_a_move_from_a_change(old, new, same):
    from course.notebooks import only_imports_moved

    assert only_imports_moved(old, new, MOVES) is same


def test_code_left_as_it_was_is_checked_against_the_other_cells_imports():
    from course.notebooks import only_imports_moved

    # code left as it was is the same only where it uses nothing that moved
    assert only_imports_moved("from srlib import edsr\nm = edsr.EDSR(2)", "from srlib import edsr\nm = edsr.EDSR(2)",
                              MOVES) is False
    context = ({"data_torch": "srlib.data_torch", "np": "numpy"}, {"data_torch": "srlib.torch.data", "np": "numpy"})
    assert only_imports_moved("y = np.ones(2)", "y = np.ones(2)", MOVES, context) is True
    assert only_imports_moved("image = data_torch.to_tensor(y)", "image = data_torch.to_tensor(y)", MOVES, context) is False


def test_a_string_may_follow_the_move_only_when_asked():
    """A module's name in a string (saved metadata) may follow the move when the cell's outputs do
    not show it; any other change of the string is still a change."""
    from course.notebooks import only_imports_moved

    old = 'from srlib import edsr\nmetadata = {"loss": "srlib.losses_torch.FeatureLoss", "model": edsr.EDSR}'
    new = 'from srlib.torch import edsr\nmetadata = {"loss": "srlib.torch.losses.FeatureLoss", "model": edsr.EDSR}'
    assert only_imports_moved(old, new, MOVES) is False
    assert only_imports_moved(old, new, MOVES, strings=True) is True
    assert only_imports_moved(old, new.replace("FeatureLoss", "L1Loss"), MOVES, strings=True) is False


def test_update_imports_moves_strings_only_in_cells_whose_outputs_do_not_name_a_module(tmp_path):
    from course.notebooks import update_imports

    source = ('# %%\nfrom srlib import edsr\nnames = ["srlib.edsr.EDSR"]\n\n'
              '# %%\nprint(names[0])\n')
    published_run(tmp_path, source)
    moved = source.replace("from srlib import edsr", "from srlib.torch import edsr").replace(
        '"srlib.edsr.EDSR"', '"srlib.torch.edsr.EDSR"')
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(moved)
    assert update_imports("09_x", MOVES, root=tmp_path) == [0]
    # the same string in a cell that printed the old name: its output needs a run
    published_run(tmp_path, source, {0: "srlib.edsr.EDSR\n"})
    with pytest.raises(ValueError, match="cell 0 changes more than"):
        update_imports("09_x", MOVES, root=tmp_path)


def test_update_imports_rewrites_moved_imports_and_keeps_outputs(tmp_path):
    from course.notebooks import update_imports

    source = ('# %% [markdown]\n# # Title\n\n# %%\nfrom srlib import edsr, losses_torch\nprint(edsr.EDSR)\n\n'
              '# %%\nprint(2)\n\n# %%\nprint(losses_torch.LOSSES)\n')
    published_run(tmp_path, source, {1: "EDSR\n"})
    # a module's local name that changes in the cell that imports it must change in every cell
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(
        source.replace("from srlib import edsr, losses_torch", "from srlib.torch import edsr, losses"))
    with pytest.raises(ValueError, match="cell 3 changes more than"):
        update_imports("09_x", MOVES, root=tmp_path)
    moved = source.replace("from srlib import edsr, losses_torch", "from srlib.torch import edsr, losses").replace(
        "losses_torch.LOSSES", "losses.LOSSES")
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(moved)
    assert update_imports("09_x", MOVES, root=tmp_path) == [1, 3]
    updated = nbformat.read(tmp_path / "notebooks" / "09_x.ipynb", as_version=4)
    assert updated.cells[1].source == "from srlib.torch import edsr, losses\nprint(edsr.EDSR)"
    assert updated.cells[1].outputs[0]["text"] == "EDSR\n"
    assert stale_cells(updated, moved) == []
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(moved.replace("print(2)", "print(3)"))
    with pytest.raises(ValueError, match="cell 2 changes more than where its imports come from; run it again"):
        update_imports("09_x", MOVES, root=tmp_path)
    assert nbformat.read(tmp_path / "notebooks" / "09_x.ipynb", as_version=4).cells[2].source == "print(2)"


def _build_notebooks_script():
    """scripts/build_notebooks.py as a module (scripts/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_notebooks", PROJECT_ROOT / "scripts" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_notebooks_checks_its_arguments_before_writing(tmp_path, capsys):
    """--help, an unknown option or an unknown name must not rebuild (and so empty) every notebook."""
    script = _build_notebooks_script()
    source = '# %% [markdown]\n# # Title\n\n# %%\nprint(1)\n'
    published_run(tmp_path, source, {1: "full run\n"})
    (tmp_path / "notebooks" / "src" / "09_x.py").write_text(source)
    target = tmp_path / "notebooks" / "09_x.ipynb"
    before = target.read_bytes()
    for argv in (["--help"], ["--no-such-option"], ["09_y"], ["--text"], ["--moved", "srlib.edsr"],
                 ["--moved", "srlib.edsr=srlib/torch/edsr"]):
        with pytest.raises(SystemExit):
            script.main(argv, root=tmp_path)
        assert target.read_bytes() == before, argv
    error = capsys.readouterr().err
    assert "no source notebooks/src/09_y.py (choose from 09_x)" in error and "--text needs the notebooks" in error
    assert "--moved takes OLD=NEW, two dotted names" in error
    assert script.main(["09_x"], root=tmp_path) == 0  # named: rebuilt from the source, without outputs
    assert nbformat.read(target, as_version=4).cells[1].outputs == []


@pytest.mark.parametrize("mode, timeout", [("fast", 3600), ("full", None)])
def test_a_full_run_cell_may_train_for_hours(tmp_path, monkeypatch, mode, timeout):
    """nbclient stopped tutorial 6's full run after an hour in its EDSR cell (1.3 s a step for
    4,000 steps on a 2-core CPU): in full mode no cell has a time limit."""
    import nbclient

    from course import notebooks

    given = {}

    class Client:
        def __init__(self, notebook, **options):
            given.update(options)

        def execute(self):
            return None

    monkeypatch.setattr(nbclient, "NotebookClient", Client)
    monkeypatch.setenv("SRLIB_MODE", "fast")  # execute() sets it; monkeypatch restores it afterwards
    path = tmp_path / "09_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")]), path)
    notebooks.execute(path, mode=mode)
    assert given["timeout"] == timeout and notebooks.cell_timeout(mode) == timeout
