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
        "results/dataset/stats.json",
    log:
        "results/logs/dataset_stats.log",
    script:
        "../workflow_scripts/dataset_stats.py"


rule subset:
    input:
        root=DATASET["root"],
        stats="results/dataset/stats.json",
    output:
        manifest="results/dataset/manifest.csv",
        report="results/dataset/subset_report.json",
    params:
        subset=DATASET["subset"],
    log:
        "results/logs/subset.log",
    script:
        "../workflow_scripts/subset.py"


PREPARED_FILES = ("train_x.npy", "train_y.npy", "val_x.npy", "val_y.npy", "classes.json", "report.json")
PREPARED = {Path(name).stem: "results/dataset/{size}/" + name for name in PREPARED_FILES}


rule prepare:
    input:
        root=DATASET["root"],
        manifest="results/dataset/manifest.csv",
    output:
        **PREPARED,
    log:
        "results/logs/prepare_{size}.log",
    script:
        "../workflow_scripts/prepare.py"
