"""Rule train: one measured training run (framework, model, hardware configuration, repetition)."""
from pathlib import Path

from edgebench import logs
from edgebench.hwconfig import load_profile, resolve
from edgebench.train.runner import OUTPUT_NAMES, RunSpec, run

logs.setup(snakemake.log[0])
w, p = snakemake.wildcards, snakemake.params
spec = RunSpec(
    framework=w.framework,
    model=w.model,
    hwconfig=resolve(w.hwcfg, p.hwconfig, load_profile(p.device_profile)),
    rep=int(w.rep),
    prepared_dir=Path(snakemake.input.data[0]).parent,
    input_size=int(p.input_size),
    training=dict(p.training),
    outputs={name: snakemake.output[name] for name in OUTPUT_NAMES},
    state_dir=Path(p.state_dir),
    device_profile=p.device_profile,
    monitor_interval_s=float(p.monitor["interval_s"]),
)
run(spec)
