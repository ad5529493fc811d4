# Per-configuration tables (DESIGN.md contract) from the finished runs.


def table_inputs(wildcards):
    """Return the runs a configuration table summarises, refusing configs this host cannot run."""
    wc.check_host(wc.hardware_config(config, wildcards.hwcfg))
    runs = runs_of(wildcards.hwcfg)
    return {
        "epochs": [f"{run}/epochs.csv" for run in runs],
        "run_json": [f"{run}/run.json" for run in runs],
        "code": package_files("analysis/table.py"),
    }


rule table:
    input:
        unpack(table_inputs),
    output:
        "results/tables/{hwcfg}.csv",
    log:
        "results/logs/table_{hwcfg}.log",
    script:
        "../workflow_scripts/table.py"
