# One measured training run per (framework, model, hardware configuration, repetition).


def train_inputs(wildcards):
    """Return the run's prepared data and the code whose edits must retrain it."""
    size = wc.input_size(config, wildcards.model)
    return {
        "data": expand(list(PREPARED.values()), size=size),
        # Model and training code are inputs so that editing them reruns the affected runs
        # (Snakemake compares their checksums); analysis code is not, so editing it never retrains.
        "code": sorted(
            set(map(str, models.source_files(wildcards.framework, wildcards.model)))
            | set(package_files("train/*.py", "data/loader.py"))
        ),
    }


rule train:
    input:
        unpack(train_inputs),
    output:
        epochs=RUN_DIR + "/epochs.csv",
        train_log=RUN_DIR + "/train.log",
        hw_log=RUN_DIR + "/hw.log",
        hw_csv=RUN_DIR + "/hw.csv",
        run_json=RUN_DIR + "/run.json",
    params:
        training=config["training"],
        input_size=lambda wildcards: wc.input_size(config, wildcards.model),
        hwconfig=lambda wildcards: config["hwconfigs"][wildcards.hwcfg],
        device_profile=config["device_profile"],
        monitor=config["monitor"],
        measurement=config["measurement"],
        state_dir=STATE_DIR,
        measure_lock="results/state/.measure.lock",
    resources:
        # Measured runs are exclusive: the default profile caps measure at 1 per host.
        measure=1,
    retries: config["measurement"]["retries"]
    log:
        "results/logs/train/{framework}/{model}/{hwcfg}/rep{rep}.log",
    script:
        "../workflow_scripts/train.py"
