# One measured training run per (framework, model, hardware configuration, repetition);
# its input functions and MEASURED_RESOURCES are in rules/common.smk.


rule train:
    input:
        unpack(train_inputs),
    output:
        **{name: f"{paths.RUN_DIR}/{file}" for name, file in paths.RUN_FILES.items()},
    params:
        training=config["training"],
        input_size=input_size,
        hwconfig=hwconfig_of,
        board=config["board"],
        monitor=config["monitor"],
        measurement=config["measurement"],
        cpu_mode=config["cpu_mode"],
        state_dir=paths.STATE_DIR,
        lock_dir=paths.HOST_STATE_DIR,
    threads: measured_run_threads
    resources:
        **MEASURED_RESOURCES,
    retries: config["measurement"]["retries"]
    log:
        paths.TRAIN_LOG,
    script:
        "../workflow_scripts/train.py"
