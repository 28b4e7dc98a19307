"""The `srlib` command line: data, baseline, degrade; errors are messages, not tracebacks."""
import subprocess
import sys

import numpy as np

from srlib.cli import main
from srlib.io import load_image, save_image
from tests.conftest import synthetic_photo


def test_degrade_a_folder_reports_bad_files_and_keeps_going(tmp_path, capsys):
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    save_image(inputs / "good.png", synthetic_photo(40, 60))
    (inputs / "broken.jpg").write_text("not a jpeg")
    status = main(["degrade", str(inputs), "-o", str(output), "--degradation", "bicubic", "--scale", "4"])
    captured = capsys.readouterr()
    assert status == 1
    assert "1 of 2 images written" in captured.out and "broken.jpg" in captured.err
    assert load_image(output / "good.png").shape == (10, 15, 3)


def test_degrade_never_overwrites_without_the_flag(tmp_path, capsys):
    source = save_image(tmp_path / "photo.png", synthetic_photo(40, 40))
    output = tmp_path / "out"
    output.mkdir()
    save_image(output / "photo.png", np.zeros((5, 5, 3), np.uint8))
    before = (output / "photo.png").read_bytes()
    assert main(["degrade", str(source), "-o", str(output)]) == 1
    assert "exists already" in capsys.readouterr().err
    assert (output / "photo.png").read_bytes() == before
    assert main(["degrade", str(source), "-o", str(output), "--overwrite"]) == 0
    assert load_image(output / "photo.png").shape == (20, 20, 3)


def test_degrade_refuses_output_into_the_input_folder(tmp_path, capsys):
    source = save_image(tmp_path / "photo.png", synthetic_photo(40, 40))
    assert main(["degrade", str(source), "-o", str(tmp_path)]) == 2
    assert "would replace the input" in capsys.readouterr().err


def test_degrade_missing_input(tmp_path, capsys):
    assert main(["degrade", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o")]) == 2
    assert "nope.png" in capsys.readouterr().err


def test_baseline_on_a_user_folder(tmp_path, capsys):
    (tmp_path / "valid").mkdir()
    for seed in range(2):
        save_image(tmp_path / "valid" / f"p{seed}.png", synthetic_photo(64, 64, seed=seed))
    assert main(["baseline", "--folder", str(tmp_path), "--scales", "2", "4", "--output",
                 str(tmp_path / "out" / "bicubic")]) == 0
    out = capsys.readouterr().out
    assert "| bicubic x2 |" in out and "| bicubic x4 |" in out
    assert (tmp_path / "out" / "bicubic.json").exists()


def test_baseline_on_an_empty_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "valid").mkdir()
    assert main(["baseline", "--folder", str(tmp_path)]) == 2
    assert "no image files" in capsys.readouterr().err


def test_degradation_choices_are_the_registrys_names():
    """The parser's choices come from srlib.registry.DEGRADATIONS, which names the degradations
    without importing srlib.degrade (scipy) or torch, so --help stays fast."""
    from srlib.cli import build_parser
    from srlib.degrade import LADDER
    from srlib.registry import DEGRADATIONS
    from srlib.zoo import SCALED_DEGRADATIONS

    commands = {action.dest: action for action in build_parser()._subparsers._group_actions}
    subparsers = next(iter(commands.values())).choices

    def choices(command):
        return next(action.choices for action in subparsers[command]._actions if action.dest == "degradation")

    assert list(choices("degrade")) == list(DEGRADATIONS.names())
    assert tuple(choices("evaluate")) == SCALED_DEGRADATIONS + ("ladder",)  # ladder: every rung, one row each
    assert LADDER == ("clean", "mild", "moderate", "heavy") == DEGRADATIONS.names(rung=True)
    assert SCALED_DEGRADATIONS == ("bicubic", "realistic", "second-order", "mixed-order", *LADDER, "ladder-mix")
    script = ("import sys; from srlib.cli import build_parser; build_parser(); "
              "print(sorted(name for name in ('scipy', 'torch', 'srlib.degrade') if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_upscale_choices_are_srlib_enlarge_lists():
    """`srlib upscale`'s --format and --backend choices, listed literally for a fast --help."""
    from srlib.cli import build_parser
    from srlib.enlarge import BACKENDS, FORMAT_CHOICES

    commands = {action.dest: action for action in build_parser()._subparsers._group_actions}
    upscale = next(iter(commands.values())).choices["upscale"]
    choices = {action.dest: action.choices for action in upscale._actions}
    assert tuple(choices["format"]) == FORMAT_CHOICES and tuple(choices["backend"]) == BACKENDS


def test_help_and_strength_parsing_import_no_framework():
    """`srlib upscale --help` and the parsing of --strength stay quick: no PyTorch."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import contextlib, io, sys
        from srlib.cli import build_parser
        parser = build_parser()
        args = parser.parse_args(["upscale", "a.png", "-o", "out", "--strength", "0.25"])
        text = io.StringIO()
        with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
            parser.parse_args(["upscale", "--help"])
        frameworks = sorted(m for m in ("torch", "tensorflow", "keras", "fastai") if m in sys.modules)
        print(args.strength, "--strength S" in text.getvalue(), frameworks)
    """)
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "0.25 True []"
