"""Running the tutorial notebooks: execute, clean the outputs, save.

A tutorial *is* its notebook: fast mode and full mode are the same cells with other budgets.
``python -m course.notebooks [NAMES] [--mode fast|full]`` executes them in order into
``results/notebooks/<mode>/`` (the main job, ``make results``, runs them all and writes the
README's figures to ``img/``); each notebook writes its own results file (``course.results``).
Interrupted, it resumes notebook by notebook. ``--publish`` then copies the executed notebooks
into ``notebooks/``: the committed notebooks show the full run's outputs (:func:`publish` checks
that their code is the current source's). ``scripts/build_notebooks.py`` builds the notebooks
from ``notebooks/src/*.py`` with jupytext (:func:`read_source`). Needs jupytext, nbformat and
nbclient (the project environment has them).

Several processes: ``torchrun --nproc_per_node N -m course.notebooks 02_unet_pixel_loss --mode full``
runs the same notebook in N kernels, one per process, whose fastai learners train together in
DistributedDataParallel (:data:`DISTRIBUTED` lists the notebooks that can). Before the
notebook's first cell each kernel joins a process group of its own
(:func:`srlib.torch.distributed.start`) and makes every ``Learner`` distributed
(:func:`srlib.torch.callbacks.distribute_learners`); those two cells are not saved. The cells
themselves are unchanged: only rank 0 writes files (:func:`srlib.config.main_process`) and the
executed notebook, which shows rank 0's outputs.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import time
from pathlib import Path

from course.paths import PROJECT_ROOT
from srlib.config import main_process, processes

#: The tutorials whose training is a fastai ``Learner``, which ``torchrun`` can run on N processes.
#: Not the others: tutorial 1 trains Keras; in 4's NoGAN game a callback of the notebook reads
#: ``learn.model.generator`` during the fit, where the model is DDP's wrapper (which has no such
#: attribute), and fastai's ``AdaptiveGANSwitcher`` gives turns from each process's own loss, so
#: the processes would disagree on whose turn it is; 5 and 6 write their own training loops
#: (``srlib.train_sr`` is 6's, distributed on its own); 7 trains nothing.
DISTRIBUTED = ("02_unet_pixel_loss", "03_unet_perceptual_loss")

#: The tag of the header's Markdown cell that says which run made the outputs shown: its text is
#: generated from the results file when a run is published (:func:`provenance`), so the source
#: holds a placeholder and a stale-code check skips it.
PROVENANCE = "provenance"
KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def read_source(source: str):
    """The notebook (nbformat v4, no outputs) of a percent-format source ``notebooks/src/*.py``.

    jupytext reads it (``# %%`` a code cell, ``# %% [markdown]`` a Markdown cell, ``tags=[...]``);
    cells get stable ids (``cell-00``...) and only their tags as metadata, so that building twice
    gives the same file and diffs show only what changed.
    """
    import jupytext

    notebook = jupytext.reads(source, fmt="py:percent")
    while notebook.cells and notebook.cells[0].cell_type == "code" and not notebook.cells[0].source.strip():
        notebook.cells.pop(0)  # jupytext makes a cell of blank lines before the first "# %%"
    for index, cell in enumerate(notebook.cells):
        tags = cell.metadata.get("tags")
        cell.metadata = {"tags": tags} if tags else {}
        cell["id"] = f"cell-{index:02d}"
    notebook.metadata = KERNEL
    return notebook


def _is_provenance(cell) -> bool:
    return PROVENANCE in cell.get("metadata", {}).get("tags", [])


def stale_cells(notebook, source: str, kinds=("code", "markdown")) -> list[int]:
    """Indices of the cells whose kind or text differs from the percent-format ``source`` (all of
    them past the shorter of the two when the number of cells differs); only cells of ``kinds``
    are compared by text, and never the generated provenance cell."""
    expected = read_source(source).cells
    differ = [index for index, (actual, wanted) in enumerate(zip(notebook.cells, expected))
              if actual.cell_type != wanted.cell_type
              or (wanted.cell_type in kinds and not _is_provenance(wanted) and actual.source != wanted.source)]
    return differ + list(range(min(len(notebook.cells), len(expected)), max(len(notebook.cells), len(expected))))


def provenance(result: dict) -> str:
    """The header line naming the run whose outputs a published notebook shows (from its results file)."""
    precision = f", {result['precision']}" if isinstance(result.get("precision"), str) else ""
    return (f"*Outputs shown: the {result['mode']} run, `{result['command']}`, on {result['machine']}{precision}, "
            f"{result['date']} ({result['software']}).*")


def _write(notebook, target: Path) -> None:
    """Write ``notebook`` to ``target`` atomically (a reader never finds half a file)."""
    import nbformat

    temporary = target.with_name(f".{target.name}.part")
    nbformat.write(notebook, temporary)
    os.replace(temporary, target)


def publish(name: str, mode: str = "full", root: Path | None = None) -> Path:
    """Copy the executed ``results/notebooks/<mode>/<name>.ipynb`` to ``notebooks/<name>.ipynb``.

    Refuses (``ValueError`` naming the cells) when the executed copy's code or text differs from
    ``notebooks/src/<name>.py``: the outputs a reader sees must come from the code beside them.
    """
    import nbformat

    root = Path(root or PROJECT_ROOT)
    executed = root / "results" / "notebooks" / mode / f"{name}.ipynb"
    if not executed.exists():
        raise FileNotFoundError(f"{executed}: not run in {mode} mode yet (python -m course.notebooks {name} --mode {mode})")
    notebook = nbformat.read(executed, as_version=4)
    stale = stale_cells(notebook, (root / "notebooks" / "src" / f"{name}.py").read_text())
    if stale:
        raise ValueError(f"{executed}: cells {stale} differ from notebooks/src/{name}.py; run it again")
    result_path = root / "results" / mode / f"{name}.json"
    if result_path.exists():
        _write_provenance(notebook, result_path)
    target = root / "notebooks" / f"{name}.ipynb"
    _write(notebook, target)
    return target


def _write_provenance(notebook, result_path: Path) -> None:
    """Set the notebook's provenance cell (if it has one) from the results file ``result_path``."""
    import json

    for cell in notebook.cells:
        if _is_provenance(cell):
            cell.source = provenance(json.loads(Path(result_path).read_text()))


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def update_text(name: str, root: Path | None = None) -> list[int]:
    """Rewrite the Markdown cells of the committed ``notebooks/<name>.ipynb`` from its source,
    keeping every code cell and output as they are; returns the indices (in the source) of the
    Markdown cells written, added included.

    For correcting prose in a published full run without running it again: jupytext's
    ``--update`` (:func:`jupytext.combine.combine_inputs_with_outputs`), which keeps the outputs of
    the code cells. Refuses (``ValueError``) when the code cells differ from the source's, since
    the outputs would then no longer come from the code beside them. The provenance cell keeps its
    text, or, new, is written from ``results/full/<name>.json`` (the run the notebook shows).
    """
    import nbformat
    from jupytext.combine import combine_inputs_with_outputs

    root = Path(root or PROJECT_ROOT)
    target = root / "notebooks" / f"{name}.ipynb"
    notebook = nbformat.read(target, as_version=4)
    source = (root / "notebooks" / "src" / f"{name}.py").read_text()
    updated = read_source(source)
    if _code(updated) != _code(notebook):
        code = stale_cells(notebook, source, kinds=("code",))
        raise ValueError(f"{target}: cells {code} differ from notebooks/src/{name}.py in code or kind; run it again")
    old_provenance = [cell.source for cell in notebook.cells if _is_provenance(cell)]
    if old_provenance:
        for cell in updated.cells:
            if _is_provenance(cell):
                cell.source = old_provenance[0]
    else:
        _write_provenance(updated, root / "results" / "full" / f"{name}.json")
    old_prose = {cell.source for cell in notebook.cells if cell.cell_type == "markdown"}
    changed = {index for index, cell in enumerate(updated.cells)
               if cell.cell_type == "markdown" and cell.source not in old_prose}
    changed |= set(stale_cells(notebook, source, kinds=("markdown",)))
    if changed:
        updated = combine_inputs_with_outputs(updated, notebook)
        updated.metadata = notebook.metadata
        for index, cell in enumerate(updated.cells):
            cell["id"] = f"cell-{index:02d}"
        _write(updated, target)
    return sorted(changed)


def _moved(dotted: str, moves: dict) -> str:
    """``dotted`` (``srlib.edsr.EDSR``) with its longest prefix in ``moves`` replaced by where it moved."""
    for old in sorted(moves, key=len, reverse=True):
        if dotted == old or dotted.startswith(old + "."):
            return moves[old] + dotted[len(old):]
    return dotted


def _bindings(tree) -> set[tuple[str, str]]:
    """``(name bound, dotted target)`` of every import statement in ``tree``."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {(alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0], alias.name.split(".")[0])
                      for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            bound |= {(alias.asname or alias.name, f"{node.module}.{alias.name}") for alias in node.names}
    return bound


class _Resolved(ast.NodeTransformer):
    """A cell's code with its imports removed and every name an import bound (``bindings``: local
    name -> dotted target) written out as the dotted name of what it names, moved by ``moves``
    (``edsr.EDSR`` -> ``srlib.torch.edsr.EDSR``): what must stay the same when only the imports
    change. With ``strings``, the dotted ``srlib.*`` names inside string constants move too."""

    def __init__(self, bindings: dict, moves: dict, strings: bool = False):
        self.bindings, self.moves, self.strings = bindings, moves, strings

    def visit_Import(self, node):
        return None

    visit_ImportFrom = visit_Import

    def _dotted(self, node, dotted: str):
        expression = ast.parse(_moved(dotted, self.moves), mode="eval").body
        expression.ctx = node.ctx
        return ast.copy_location(expression, node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.bindings:
            return self._dotted(node, self.bindings[node.id])
        return node

    def visit_Attribute(self, node):
        parts, base = [], node
        while isinstance(base, ast.Attribute):
            parts.insert(0, base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.bindings:
            return self._dotted(node, ".".join([self.bindings[base.id], *parts]))
        return self.generic_visit(node)

    def visit_Constant(self, node):
        if self.strings and isinstance(node.value, str):
            text = re.sub(r"\bsrlib(?:\.\w+)+", lambda match: _moved(match.group(0), self.moves), node.value)
            return ast.copy_location(ast.Constant(value=text), node)
        return node


def only_imports_moved(old: str, new: str, moves: dict, context: tuple[dict, dict] | None = None,
                       strings: bool = False) -> bool:
    """Whether the code ``new`` computes what ``old`` computes once its imports come from where
    ``moves`` (``{"srlib.losses_torch": "srlib.torch.losses"}``: a module, or one of its names,
    and the dotted name it has now) says they went. Every name an import binds is replaced by the
    dotted name of what it names (in ``old``, moved) and the two must then be the same code: a
    local name may change with its module, an unused import may go, a name may come from a new
    place, but nothing else changes. Text in strings must not change, unless ``strings``: then a
    string may name the moved modules by their new names (for a cell whose outputs do not show it).

    ``context``: the names imported elsewhere (a notebook's other cells), as ``{name: dotted}``
    for the old code and for the new; this code's own imports come on top of them.
    """
    old_context, new_context = context or ({}, {})
    old_tree, new_tree = ast.parse(old), ast.parse(new)
    old_bindings = {**old_context, **dict(_bindings(old_tree))}
    new_bindings = {**new_context, **dict(_bindings(new_tree))}
    resolved_old = ast.unparse(_Resolved(old_bindings, moves, strings).visit(old_tree))
    return resolved_old == ast.unparse(_Resolved(new_bindings, {}).visit(new_tree))


def update_imports(name: str, moves: dict, root: Path | None = None) -> list[int]:
    """Rewrite the code cells of the committed ``notebooks/<name>.ipynb`` from its source where
    the only change is where their imports come from (:func:`only_imports_moved` with ``moves``),
    keeping every output; returns the indices of the cells rewritten.

    For moving a library module without running the published full runs again: the code beside
    the outputs computes what it computed, only reached by another name. Refuses (``ValueError``
    naming the cell) when a code cell changes in any other way, or the cells do not pair up. A
    string may follow the move (a module's name in saved metadata) only in a cell whose outputs
    never name a moved module: an output that does was computed by the old name, and needs a run.
    """
    import nbformat

    root = Path(root or PROJECT_ROOT)
    target = root / "notebooks" / f"{name}.ipynb"
    notebook = nbformat.read(target, as_version=4)
    updated = read_source((root / "notebooks" / "src" / f"{name}.py").read_text())
    if [cell.cell_type for cell in notebook.cells] != [cell.cell_type for cell in updated.cells]:
        raise ValueError(f"{target}: its cells do not pair up with notebooks/src/{name}.py's; run it again")
    def bound(cells) -> dict:  # names imported in one cell, used in others
        return dict(set().union(*(_bindings(ast.parse(cell.source)) for cell in cells if cell.cell_type == "code")))

    context = (bound(notebook.cells), bound(updated.cells))
    changed = []
    for index, (published, source) in enumerate(zip(notebook.cells, updated.cells)):
        if source.cell_type != "code":
            continue
        shown = json.dumps([dict(output) for output in published.get("outputs", [])])
        strings = not any(re.search(re.escape(old) + r"\b", shown) for old in moves)
        if not only_imports_moved(published.source, source.source, moves, context, strings):
            raise ValueError(f"{target}: cell {index} changes more than where its imports come from; run it again")
        changed.append(index)
    changed = [index for index in changed if notebook.cells[index].source != updated.cells[index].source]
    for index in changed:
        notebook.cells[index].source = updated.cells[index].source
    if changed:
        _write(notebook, target)
    return changed


# TensorFlow's C++ logging writes these to the kernel's stderr before Python can silence it, at
# the start of a line or straight after a progress bar's last redraw.
NOISE = re.compile(r"(?:^|\s)(?:[IWE]\d{4} [\d:. ]+\d+ \S+:\d+\]|WARNING: All log messages before absl::InitializeLog)")


def clean_stream(text: str) -> str:
    """What a terminal would show: carriage returns resolved, framework log noise dropped, and
    paths inside the project relative to it (a committed notebook names no machine's folders)."""
    text = text.replace(f"{PROJECT_ROOT}{os.sep}", "")
    lines = [line.rsplit("\r", 1)[-1] if line.strip("\r") else "" for line in text.split("\n")]
    return "\n".join(line for line in lines if not NOISE.search(line))


_CELL = re.compile(r"\s*<t[hd]>.*?</t[hd]>", re.S)
_ROW = re.compile(r"<tr>.*?</tr>", re.S)


def _drop_column(html: str, name: str) -> str:
    """``html`` with the column headed ``name`` removed from every table row."""
    header = _ROW.search(html)
    if header is None:
        return html
    titles = [re.sub(r"<[^>]+>|\s", "", cell) for cell in _CELL.findall(header.group())]
    if name not in titles:
        return html
    index = titles.index(name)

    def without(row):
        cells = list(_CELL.finditer(row.group()))
        if len(cells) != len(titles):
            return row.group()
        cell = cells[index]
        return row.group()[: cell.start()] + row.group()[cell.end():]

    return _ROW.sub(without, html)


def clean_display(output) -> bool:
    """Tidy one rich output in place; False when nothing is left worth keeping.

    fastai's progress bars leave a style sheet and empty ``<div></div>`` outputs behind (dropped),
    their tables a ``time`` column (a per-run timing: dropped), and IPython an
    ``<IPython.core.display.HTML object>`` text twin of each HTML output (dropped)."""
    data = output.get("data", {})
    html = "".join(data.get("text/html", ""))
    if html:
        visible = re.sub(r"<style.*?</style>|<[^>]+>|\s", "", html, flags=re.S)
        if not visible:
            return False
        for kind in ("text/html", "text/markdown", "text/plain"):
            if kind in data and "fastprogress" in "".join(data[kind]):
                data[kind] = _drop_column("".join(data[kind]), "time")
    if "".join(data.get("text/plain", "")).strip() == "<IPython.core.display.HTML object>":
        del data["text/plain"]
    return True


def _keep(output) -> bool:
    """Whether a cleaned output still says something: non-empty text, a tidied rich output, an error."""
    if output.output_type == "stream":
        return bool(output.text.strip())
    if output.output_type in ("display_data", "execute_result"):
        return clean_display(output)
    return True


def clean(notebook) -> None:
    """Merge consecutive stream outputs, resolve progress-bar redraws, strip timing metadata and
    the leftovers of rich progress bars (:func:`clean_display`)."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.outputs:
            if output.output_type == "stream" and merged and merged[-1].output_type == "stream" \
                    and merged[-1].name == output.name:
                merged[-1].text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = clean_stream(output.text).strip("\n") + "\n"
        cell.outputs = [output for output in merged if _keep(output)]


def _joining_cells(group: str) -> tuple:
    """The cells run before and after a notebook in each kernel under ``torchrun`` (not saved)."""
    import nbformat

    setup = nbformat.v4.new_code_cell(
        "import datetime, srlib.torch.callbacks, srlib.torch.distributed\n"
        f"srlib.torch.distributed.start({group!r}, timeout=datetime.timedelta(hours=24))\n"
        "srlib.torch.callbacks.distribute_learners()")
    return setup, nbformat.v4.new_code_cell("srlib.torch.distributed.stop()")


def _without_joining_cells(notebook) -> None:
    """Drop the first and last cells (:func:`_joining_cells`) and number the others from 1 again."""
    notebook.cells = notebook.cells[1:-1]
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.get("execution_count"):
            cell.execution_count -= 1
            for output in cell.outputs:
                if output.get("execution_count"):
                    output.execution_count -= 1


def cell_timeout(mode: str | None) -> int | None:
    """Seconds one cell may run before nbclient stops the notebook: an hour in fast mode (where
    longer means something hangs), none in full mode, where one cell trains for hours on a CPU
    (tutorial 6's EDSR-baseline) and an interrupted run resumes from its checkpoints anyway."""
    return None if mode == "full" else 3600


def execute(path: Path, output: Path | None = None, mode: str | None = None) -> float:
    """Run the notebook ``path`` and write it, outputs cleaned, to ``output`` (default: in place).

    ``mode`` sets ``SRLIB_MODE`` for the kernel (None: leave the environment as it is). The file
    is written only when every cell ran; returns the seconds it took. Under ``torchrun`` the
    kernel first joins a process group named after the notebook and makes its learners
    distributed (see the module's docstring), and only rank 0 writes.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    if mode is not None:
        os.environ["SRLIB_MODE"] = mode
    distributed = processes() > 1
    if distributed:
        group = f"course.notebooks/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}/{Path(path).stem}"
        setup, teardown = _joining_cells(group)
        notebook.cells = [setup, *notebook.cells, teardown]
    from srlib.config import run_mode

    started = time.perf_counter()
    NotebookClient(notebook, timeout=cell_timeout(run_mode()), kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    seconds = time.perf_counter() - started
    if distributed:
        _without_joining_cells(notebook)
    clean(notebook)
    if main_process():
        output = Path(output or path)
        output.parent.mkdir(parents=True, exist_ok=True)
        _write(notebook, output)
    return seconds


def default_output(mode: str | None = None) -> Path:
    """``results/notebooks/<mode>/``: where executed copies go (ignored by git)."""
    from srlib.config import run_mode

    return PROJECT_ROOT / "results" / "notebooks" / (mode or run_mode())


def ensure(notebook: str, produces, mode: str | None = None) -> Path:
    """``produces`` (a file that ``notebook`` writes), after running ``notebook`` in ``mode``
    (default: the current one) when the file is missing. Tutorials 3 and 4 use it to start from
    tutorial 2's weights: the program that makes a file is the notebook, never a copy of it."""
    from srlib.config import run_mode

    produces, mode = Path(produces), mode or run_mode()
    if not produces.exists() and processes() > 1:
        # one kernel per process is running this notebook already: each would start a kernel of its own
        raise FileNotFoundError(f"{produces}: missing; under torchrun, run {notebook} first, in the same command "
                                f"(torchrun ... -m course.notebooks {notebook} <this notebook> --mode {mode})")
    if not produces.exists():
        print(f"{produces.name} is missing: running {notebook} in {mode} mode first ...", flush=True)
        seconds = execute(PROJECT_ROOT / "notebooks" / f"{notebook}.ipynb", default_output(mode) / f"{notebook}.ipynb", mode)
        print(f"{notebook} ran in {seconds:.0f} s")
        if not produces.exists():
            raise FileNotFoundError(f"{produces}: {notebook} ran but did not write it")
    return produces


def run_all(output_dir: Path, figures: Path | None, names=None, redo: bool = False, results: Path | None = None,
            folder: Path | None = None) -> dict:
    """Execute ``notebooks/*.ipynb`` (or ``folder/*.ipynb``) in order into ``output_dir``; returns
    ``{name: seconds}``.

    A notebook whose executed copy is newer than both it and the srlib sources, and was run in
    the same mode, is skipped, so an interrupted run resumes where it stopped (``redo`` runs
    everything again). ``results``: folder for each notebook's rows of the results table
    (``course.summary``). Under ``torchrun`` every notebook named runs (each process deciding
    from files that rank 0 writes could decide otherwise), only rank 0 writes, and the processes
    wait for each other between notebooks (the next may read what the last one wrote).
    """
    from srlib.config import run_mode

    if figures is not None:
        os.environ["SRLIB_FIGURES"] = str(Path(figures).resolve())  # kernels run in notebooks/
    if results is not None:
        os.environ["SRLIB_RESULTS"] = str(Path(results).resolve())
    stamp = Path(output_dir) / ".mode"
    distributed = processes() > 1
    if distributed:
        from datetime import timedelta

        from srlib.torch import distributed as process_group

        process_group.start(timeout=timedelta(hours=24), backend="gloo")  # the kernels hold the GPUs
        redo = True
    if stamp.exists() and stamp.read_text().strip() != run_mode():
        redo = True  # the executed copies are of the other mode
    if main_process():
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        stamp.write_text(run_mode() + "\n")
    newest_source = max(p.stat().st_mtime for folder in ("srlib", "course") for p in (PROJECT_ROOT / folder).glob("*.py"))
    timings = {}
    for notebook in sorted(Path(folder or PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        if names and notebook.stem not in names:
            continue
        target = Path(output_dir) / notebook.name
        if not redo and target.exists() and target.stat().st_mtime > max(notebook.stat().st_mtime, newest_source):
            print(f"{notebook.name}: up to date in {output_dir}, skipped")
            continue
        if main_process():
            print(f"{notebook.name}: running{f' in {processes()} processes' if distributed else ''} ...", flush=True)
        timings[notebook.stem] = execute(notebook, target)
        if distributed:
            process_group.barrier()
        if main_process():
            print(f"{notebook.name}: done in {timings[notebook.stem]:.0f} s", flush=True)
    if distributed:
        process_group.stop()
    return timings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run every tutorial notebook in order (the main job).",
                                     epilog="example (one tutorial's full run): python -m course.notebooks 05_vae --mode full")
    parser.add_argument("names", nargs="*", help="only these notebooks (stems), default all")
    parser.add_argument("--mode", choices=["test", "fast", "full"], default=None,
                        help="run mode (default: SRLIB_MODE, else full on a GPU and fast on a CPU)")
    parser.add_argument("--output", default=None, help="folder for the executed notebooks "
                                                       "(default results/notebooks/<mode>)")
    parser.add_argument("--figures", default=None, help="folder for the README figures (e.g. img)")
    parser.add_argument("--results", default=None, help="folder for the results table's rows (course.summary)")
    parser.add_argument("--redo", action="store_true", help="run notebooks that are already up to date too")
    parser.add_argument("--publish", action="store_true",
                        help="then copy the executed notebooks into notebooks/ (what the repository shows readers)")
    args = parser.parse_args(argv)
    if args.mode:
        os.environ["SRLIB_MODE"] = args.mode
    available = [p.stem for p in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))]
    unknown = [name for name in args.names if name not in available]
    if unknown:
        parser.error(f"no such notebook: {', '.join(unknown)} (choose from {', '.join(available)})")
    names = args.names or available
    if processes() > 1:
        alone = [name for name in names if name not in DISTRIBUTED]
        if not args.names or alone:
            parser.error("under torchrun, name the notebooks to run; these train on several processes: "
                         f"{', '.join(DISTRIBUTED)}" + (f" (not {', '.join(alone)})" if args.names else ""))
    output = Path(args.output) if args.output else default_output()
    if args.publish:  # what publish() would refuse, checked before hours of running, not after
        import nbformat

        if output.resolve() != default_output().resolve():
            parser.error("--publish copies from the default output folder; leave out --output")
        for name in names:
            built = PROJECT_ROOT / "notebooks" / f"{name}.ipynb"
            stale = stale_cells(nbformat.read(built, as_version=4), (PROJECT_ROOT / "notebooks" / "src" / f"{name}.py").read_text())
            if stale:
                parser.error(f"{built}: cells {stale} differ from notebooks/src/{name}.py, so the run could not be "
                             f"published; build it first: python scripts/build_notebooks.py {name}")
    run_all(output, Path(args.figures) if args.figures else None, args.names, args.redo,
            Path(args.results) if args.results else None)
    if args.publish and main_process():
        from srlib.config import run_mode

        for name in names:
            print("published", publish(name, run_mode()).relative_to(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())



