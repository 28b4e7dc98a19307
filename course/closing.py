"""A tutorial's closing cell: everything a run does for the record, in one call.

A lesson ends with its pictures and its conclusion; what the repository needs from the run (its
results file, its rows of the main job's table, the zoo's full model scored beside a short run,
the checkpoints cleared) is :func:`finish`, called once in the last cell. It prints what a reader
can use: in a short run (fast or test mode), the zoo's model trained in full beside this run's on
the same inputs, and where the results file went.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from course import results, summary as summary_table
from srlib.config import main_process, run_mode, shown_path
from srlib.io import clear_states


@dataclass
class Summary:
    """This run's rows of the main job's table (``make results``: ``results/summary.md``).

    ``predictions``: ``{method: {photo: HWC RGB [0, 1]}}`` scored against ``targets`` with the
    border ``crop_border`` cropped. ``predict``: ``{method: (function, inputs)}`` for the methods
    whose inference time per output megapixel the table shows (timed here, once more, on
    ``inputs``), or ``inference``: ``{method: seconds per output megapixel}`` measured already;
    ``parameters`` and ``training_seconds``: ``{method: number}``. ``bicubic_scale``: time the
    bicubic baseline row named ``baseline`` at that scale.
    """
    study: str
    task: str
    targets: dict
    predictions: dict
    crop_border: int
    predict: dict = field(default_factory=dict)
    inference: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    training_seconds: dict = field(default_factory=dict)
    baseline: str | None = None
    bicubic_scale: int | None = None

    def details(self) -> dict:
        details = {method: {} for method in self.predictions}
        for method, (predict, inputs) in self.predict.items():
            details[method]["inference_seconds_per_megapixel"] = summary_table.timed_predictions(predict, inputs)[1]
        for method, seconds in self.inference.items():
            details[method]["inference_seconds_per_megapixel"] = seconds
        for method, count in self.parameters.items():
            details[method]["parameters"] = count
        for method, seconds in self.training_seconds.items():
            details[method]["training_seconds"] = seconds
        if self.baseline is not None and self.bicubic_scale is not None:
            details.setdefault(self.baseline, {})["inference_seconds_per_megapixel"] = \
                summary_table.bicubic_seconds_per_megapixel(self.targets, self.bicubic_scale)
        return details


@dataclass
class ZooModel:
    """The zoo's model that this tutorial's full run made, scored beside a short run.

    ``inputs``: ``{photo: HWC RGB [0, 1]}`` as the model takes them; the table is ``methods``
    (this run's ``{method: {photo: image}}``) plus the zoo model, against ``targets``, with
    ``evaluate_options`` (``crop_border``, ``extra_metrics``...) for :func:`srlib.evaluation.evaluate`.
    ``trained_here`` says what this run did ("trained 400 steps here"). ``task``: this run's
    ``{"degradation": name, "scale": n}``, checked against the zoo model's metadata: a zoo model
    made for another task (an older full run, before the notebook changed its task) is left out
    with a line that says so, rather than scored on inputs it was not made for.
    """
    name: str
    inputs: dict
    targets: dict
    methods: dict
    trained_here: str
    evaluate_options: dict = field(default_factory=dict)
    baseline: str | None = None
    task: dict | None = None


def _zoo_task_mismatch(zoo: ZooModel) -> str | None:
    """Why the zoo's model does not fit this run's task, or None."""
    from srlib.torch.checkpoints import load_metadata
    from srlib.zoo import model_path

    if zoo.task is None:
        return None
    metadata = load_metadata(model_path(zoo.name))
    theirs = {"degradation": metadata["degradation"]["name"], "scale": metadata["scale"]}
    if theirs == zoo.task:
        return None
    return (f"the zoo's {zoo.name} was made for another task ({theirs['degradation']} x{theirs['scale']}) than this "
            f"run's ({zoo.task['degradation']} x{zoo.task['scale']}): left out until a full run of this notebook "
            "replaces it")


def finish(notebook: str, result: dict, *, summary: Summary | None = None, zoo: ZooModel | None = None,
           checkpoints: Path | None = None) -> None:
    """The closing cell of tutorial ``notebook``.

    1. In a short run (fast or test mode), scores the zoo's model ``zoo`` beside this run and
       prints the table (in full mode this run *is* that model: one line says so);
    2. records ``summary``'s rows when the main job asks (``SRLIB_RESULTS``; otherwise nothing, and
       no model is run again to time it);
    3. writes ``result`` (JSON-ready) as ``results/<mode>/<notebook>.json`` with the run's mode,
       machine, date, software and command (:func:`course.results.save`);
    4. deletes the training checkpoints in ``checkpoints`` (PyTorch's ``*.pt`` and Keras's ``*.npz``): the
       run is complete, the next starts afresh.
    """
    mismatch = _zoo_task_mismatch(zoo) if zoo is not None and run_mode() != "full" else None
    if mismatch:
        print(mismatch)
    elif zoo is not None and run_mode() != "full":
        from srlib import evaluation, zoo as model_zoo

        zoo_predictions, trained = model_zoo.beside_run(zoo.name, zoo.inputs, zoo.trained_here)
        table = evaluation.evaluate(zoo.targets, {**zoo.methods, f"zoo: {zoo.name}": zoo_predictions},
                                    **zoo.evaluate_options)
        print(f"{trained}\n{table.to_markdown(baseline=zoo.baseline)}")
    elif zoo is not None:
        print(f"full mode: the zoo ships a full run of this notebook as {zoo.name}")
    if summary is not None:
        summary_table.record(summary.study, summary.task, summary.targets, summary.predictions, summary.details,
                             crop_border=summary.crop_border, notebook=notebook)
    saved = results.save(notebook, result)
    if main_process():
        print(f"results: {shown_path(saved)}")
    if checkpoints is not None:
        clear_states(checkpoints)
