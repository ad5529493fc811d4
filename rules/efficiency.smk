# What the tables' efficiency columns divide by: one FLOP count per model and input size, and
# the host's GEMM peak per hardware configuration (edgebench/analysis/efficiency.py).


rule flops:
    input:
        # The classifier's size depends on the number of classes the prepared data holds.
        classes=paths.PREPARED["classes"].format(size=workflow_config.input_size(config, config["models"][0])),
        code=package_files("models/*.py", "models/torch/*.py"),
    output:
        json=paths.FLOPS,
    params:
        sizes={model: workflow_config.input_size(config, model) for model in config["models"]},
    log:
        "results/logs/flops.log",
    script:
        "../workflow_scripts/flops.py"


# Measured like a run: alone on the board, on the configuration's cores (rules/train.smk).
rule peak:
    input:
        code=package_files("train/peak.py"),
    output:
        json=paths.PEAK,
    params:
        hwconfig=hwconfig_of,
        board=config["board"],
        lock_dir=paths.HOST_STATE_DIR,  # the power-mode record, shared with the runs
    threads: measured_run_threads
    resources:
        **MEASURED_RESOURCES,
    log:
        "results/logs/peak_{hwcfg}.log",
    script:
        "../workflow_scripts/peak.py"
