# What the tables' efficiency columns divide by: one FLOP count per model and input size, and
# the host's GEMM peak per hardware configuration (edgebench/analysis/efficiency.py).


rule flops:
    input:
        # The classifier's size depends on the number of classes the prepared data holds.
        classes=PREPARED["classes"].format(size=wc.input_size(config, config["models"][0])),
        code=package_files("models/*.py", "models/torch/*.py"),
    output:
        json="results/flops.json",
    params:
        sizes={model: wc.input_size(config, model) for model in config["models"]},
    log:
        "results/logs/flops.log",
    script:
        "../workflow_scripts/flops.py"


# Measured like a run: alone on the board, on the configuration's cores (rules/train.smk).
rule peak:
    input:
        code=package_files("train/peak.py"),
    output:
        json="results/peak/{hwcfg}.json",
    params:
        hwconfig=lambda wildcards: config["hwconfigs"][wildcards.hwcfg],
        device_profile=config["device_profile"],
        lock_dir="results/state",  # the power-mode record, shared with the runs (rules/train.smk)
    threads: measured_run_threads
    resources:
        **MEASURED_RESOURCES,
    log:
        "results/logs/peak_{hwcfg}.log",
    script:
        "../workflow_scripts/peak.py"
