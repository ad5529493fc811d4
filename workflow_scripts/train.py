"""Rule train: write the run's spec, then become the board-side runner in the framework's interpreter.

The runner (edgebench/train/main.py) replaces this process (exec), so the measured process is
the framework's own interpreter alone, with nothing of the workflow side loaded in it.
"""
import os
from pathlib import Path

from edgebench import logs
from edgebench.interpreters import board_environment, interpreter_path, missing_reason
from edgebench.train.spec import OUTPUT_FILES, load_spec, spec_document, write_spec

logs.setup(snakemake.log[0])
w, p = snakemake.wildcards, snakemake.params
document = spec_document(
    framework=w.framework, model=w.model, hwcfg=w.hwcfg, hwconfig=p.hwconfig, rep=w.rep,
    prepared_dir=Path(snakemake.input.data[0]).parent, input_size=p.input_size, training=p.training,
    outputs={key: snakemake.output[key] for key in OUTPUT_FILES}, state_dir=p.state_dir,
    board=p.board, monitor=p.monitor, measurement=p.measurement, lock_dir=p.lock_dir,
    cpu_mode=p.cpu_mode, log=os.path.abspath(snakemake.log[0]),
)
spec_path = write_spec(document, Path(p.state_dir) / "spec.json")
python = interpreter_path(snakemake.config, w.framework)
reason = missing_reason(w.framework, python)
if reason:  # on a cluster node without the framework's environment: a result, not a crash
    from edgebench.train.summary import record_refusal  # pandas: imported only when needed

    record_refusal(load_spec(document), reason, interpreter_info={"executable": python})
else:
    os.execve(python, [python, "-m", "edgebench.train.main", str(spec_path)], board_environment())
