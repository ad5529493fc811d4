# Dataset stage: (demo tree) -> stats -> subset manifest -> prepared arrays per input size.

if DATASET["source"] == "demo":

    rule demo_data:
        output:
            directory(DATASET["root"]),
        params:
            demo=DATASET["demo"],
        log:
            "results/logs/demo_data.log",
        script:
            "../workflow_scripts/demo_data.py"


rule dataset_stats:
    input:
        root=DATASET["root"],
    output:
        paths.STATS,
    log:
        "results/logs/dataset_stats.log",
    script:
        "../workflow_scripts/dataset_stats.py"


rule subset:
    input:
        root=DATASET["root"],
        stats=paths.STATS,
    output:
        manifest=paths.MANIFEST,
        report=paths.SUBSET_REPORT,
    params:
        subset=DATASET["subset"],
    log:
        "results/logs/subset.log",
    script:
        "../workflow_scripts/subset.py"


rule prepare:
    input:
        root=DATASET["root"],
        manifest=paths.MANIFEST,
    output:
        **paths.PREPARED,
    log:
        "results/logs/prepare_{size}.log",
    script:
        "../workflow_scripts/prepare.py"
