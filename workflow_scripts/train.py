"""Rule train: one measured training run (framework, model, hardware configuration, repetition)."""
from pathlib import Path

from edgebench import logs
from edgebench.hwconfig import load_profile, resolve
from edgebench.train.runner import OUTPUT_FILES, RunSpec, run

logs.setup(snakemake.log[0])
w, p = snakemake.wildcards, snakemake.params
profile = load_profile(p.device_profile)
spec = RunSpec(
    framework=w.framework,
    model=w.model,
    hwconfig=resolve(w.hwcfg, p.hwconfig, profile),
    rep=int(w.rep),
    prepared_dir=Path(snakemake.input.data[0]).parent,
    input_size=int(p.input_size),
    training=dict(p.training),
    outputs={key: snakemake.output[key] for key in OUTPUT_FILES},
    state_dir=Path(p.state_dir),
    profile=profile,
    monitor=dict(p.monitor),
    measurement=dict(p.measurement),
    lock_dir=Path(p.lock_dir),
    cpu_mode=p.cpu_mode,
)
run(spec)
