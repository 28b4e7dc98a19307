"""The project's layers point one way, and every number a tutorial or the README quotes from a full
run comes from that run's results file (README "Architecture")."""
import ast
import json
import re
from pathlib import Path

import pytest

from course import results
from course.paths import PROJECT_ROOT

#: The rule: the core (``srlib/*.py``, NumPy only) never imports ``srlib.torch`` or ``srlib.keras``,
#: neither framework package imports the other, and only the applications on top import both.
#: A layer may import itself and what its line names.
ALLOWED = {"core": {"core"}, "torch": {"core", "torch"}, "keras": {"core", "keras"},
           "applications": {"core", "torch", "keras", "applications"}}
#: What users run, beside the core in ``srlib/`` but on top of both frameworks: the zoo, the
#: trainers, export and the command line.
APPLICATIONS = {"zoo", "enlarge", "export", "train_sr", "cli", "__main__"}
FRAMEWORKS = {"torch", "torchvision", "keras", "tensorflow", "fastai"}
SOURCES = sorted((PROJECT_ROOT / "srlib").rglob("*.py"))


def layer(path_or_module) -> str:
    """The layer of a source file, or of an srlib module named by its first component after
    ``srlib.`` (``torch``, ``keras``, an application's stem, or a core module's)."""
    name = (path_or_module.relative_to(PROJECT_ROOT / "srlib").with_suffix("").parts[0]
            if isinstance(path_or_module, Path) else path_or_module)
    if name in ("torch", "keras"):
        return name
    return "applications" if name in APPLICATIONS else "core"


def imports(path: Path) -> tuple[set, set]:
    """(srlib modules imported anywhere in the file, by their first component after ``srlib.``;
    top-level packages imported at module level)."""
    tree = ast.parse(path.read_text())
    internal, top_level = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            internal |= {a.name.split(".")[1] for a in node.names if a.name.startswith("srlib.")}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "srlib":
                internal |= {a.name for a in node.names}
            elif node.module.startswith("srlib."):
                internal.add(node.module.split(".")[1])
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top_level.add(node.module.split(".")[0])
    return internal, top_level


def test_the_layers_are_the_folders():
    """Every application named exists; the frameworks are folders; nothing else is a subpackage."""
    top = PROJECT_ROOT / "srlib"
    assert APPLICATIONS <= {path.stem for path in top.glob("*.py")}
    assert {path.parent.name for path in SOURCES if path.parent != top} == {"torch", "keras"}


def forbidden(internal: set, own: str) -> list:
    """The srlib modules in ``internal`` that a module of layer ``own`` may not import."""
    return sorted(module for module in internal if layer(module) not in ALLOWED[own])


def test_the_rule_catches_an_import_against_it(tmp_path):
    source = tmp_path / "example.py"
    source.write_text("import numpy\n\ndef f():\n    from srlib.torch import to_tensor\n    from srlib import zoo, io\n")
    internal, _ = imports(source)
    assert internal == {"torch", "zoo", "io"}
    assert forbidden(internal, "core") == ["torch", "zoo"] and forbidden(internal, "keras") == ["torch", "zoo"]
    assert forbidden(internal, "torch") == ["zoo"] and forbidden(internal, "applications") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PROJECT_ROOT / "srlib")))
def test_imports_follow_the_rule(path):
    internal, top_level = imports(path)
    own = layer(path)
    forbidden_here = forbidden(internal, own)
    assert not forbidden_here, f"{path.relative_to(PROJECT_ROOT)} ({own}) imports srlib.{forbidden_here}"
    if own == "core":
        assert not top_level & FRAMEWORKS, f"srlib/{path.name} must not import {top_level & FRAMEWORKS} at module level"


def test_no_module_imports_or_names_a_tutorial():
    """The library never depends on a tutorial or on the course around them: no *_study module, no
    import of notebook code or of ``course`` (the runner, results files, summary, the repository's
    folders), and no name for the repository's folders."""
    for path in SOURCES:
        internal, top_level = imports(path)
        assert not any(module.endswith("_study") for module in internal), path
        assert not top_level & {"notebooks", "course"}, path
        assert not re.search(r"\b(PROJECT_ROOT|MODELS_DIR|figure_path)\b", path.read_text()), path
    assert not list((PROJECT_ROOT / "srlib").glob("*_study.py"))



NOTEBOOKS = sorted(path.stem for path in (PROJECT_ROOT / "notebooks" / "src").glob("*.py"))


def markdown_cells(notebook: str) -> list[tuple[str, str]]:
    """(section heading, text) of each Markdown cell of a notebook's source."""
    cells, heading = [], ""
    for chunk in re.split(r"^# %%.*$", (PROJECT_ROOT / "notebooks" / "src" / f"{notebook}.py").read_text(), flags=re.M):
        lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in chunk.strip().splitlines()
                 if line.startswith("#")]
        text = "\n".join(lines)
        headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
        heading = headings[-1] if headings else heading
        cells.append((heading, text))
    return cells


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_conclusions_quote_no_typed_numbers(notebook):
    """A conclusion's numbers are printed from the results file by a code cell, never typed."""
    for heading, text in markdown_cells(notebook):
        if re.search(r"conclusion|what the numbers say|the full run", heading, flags=re.I):
            typed = re.findall(r"\d+\.\d+|\d+ ?%|[+-]\d+(?:\.\d+)? ?dB", text)
            assert not typed, f"{notebook}, section {heading!r} types numbers {typed}: print them from the results file"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_each_tutorial_saves_its_own_results_file(notebook):
    source = (PROJECT_ROOT / "notebooks" / "src" / f"{notebook}.py").read_text()
    assert f'course.finish("{notebook}"' in source or f'results.save("{notebook}"' in source
    assert "_study" not in source


def test_committed_full_results_name_their_run():
    files = sorted((PROJECT_ROOT / "results" / "full").glob("*.json"))
    assert files
    for path in files:
        result = json.loads(path.read_text())
        assert path.stem in NOTEBOOKS, f"{path.name}: no notebook makes it"
        assert result["notebook"] == path.stem and result["mode"] == "full"
        for key in ("machine", "date", "software", "command", "config", "rows", "markdown"):
            assert result.get(key), f"{path.name}: {key} missing"


def test_the_results_page_tables_are_the_results_files():
    page = PROJECT_ROOT / "docs" / "results.md"
    blocks = re.findall(r"<!-- begin results: ([\w-]+) -->", page.read_text())
    assert blocks and set(blocks) <= {path.stem for path in (PROJECT_ROOT / "results" / "full").glob("*.json")}
    assert results.update_readme(page, check=True) == [], "run: python -m course.results docs/results.md"


def test_results_files_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    assert results.load("99_example", "full") is None
    assert "SRLIB_MODE=full python -m course.notebooks 99_example" in results.describe(None, "99_example")
    path = results.save("99_example", {"rows": [], "markdown": "| a |\n|---|\n| 1 |"}, mode="full")
    assert path == tmp_path / "full" / "99_example.json"
    saved = results.load("99_example", "full")
    assert saved["notebook"] == "99_example" and saved["command"].endswith("course.notebooks 99_example")
    assert results.readme_block("99_example").endswith("| a |\n|---|\n| 1 |\n")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- begin results: 99_example -->\nold\n<!-- end results -->\nend\n")
    assert results.update_readme(readme, check=True) == ["99_example"]
    assert "old" in readme.read_text()  # check only compares
    assert results.update_readme(readme) == ["99_example"] and results.update_readme(readme) == []
    assert "| 1 |" in readme.read_text() and readme.read_text().endswith("end\n")
    path.write_text("{broken")
    with pytest.raises(ValueError, match="99_example.json"):
        results.load("99_example", "full")
