# Tables: per configuration (DESIGN.md contract), rankings, and the compilation across configurations.


def table_inputs(wildcards):
    """Return the runs a configuration table summarises, refusing configs this host cannot run."""
    if host_checks_here():
        wc.runnable_config(config, wildcards.hwcfg)
    runs = runs_of(wildcards.hwcfg)
    return {
        "epochs": [f"{run}/epochs.csv" for run in runs],
        "run_json": [f"{run}/run.json" for run in runs],
        "flops": "results/flops.json",
        "peak": f"results/peak/{wildcards.hwcfg}.json",
        "code": package_files("analysis/table.py", "analysis/stats.py", "analysis/markdown.py", "analysis/targets.py",
                              "analysis/efficiency.py"),
    }


rule table:
    input:
        unpack(table_inputs),
    output:
        csv=report("results/tables/{hwcfg}.csv", caption="../report/table.rst", category="Tables",
                   subcategory="{hwcfg}"),
        md="results/tables/{hwcfg}.md",
    params:
        targets=config["targets"],
    log:
        "results/logs/table_{hwcfg}.log",
    script:
        "../workflow_scripts/table.py"


rule ranking:
    input:
        table="results/tables/{hwcfg}.csv",
        code=package_files("analysis/ranking.py", "analysis/stats.py", "analysis/markdown.py"),
    output:
        csv=report("results/tables/ranking_{hwcfg}.csv", caption="../report/ranking.rst", category="Tables",
                   subcategory="{hwcfg}"),
        md="results/tables/ranking_{hwcfg}.md",
    log:
        "results/logs/ranking_{hwcfg}.log",
    script:
        "../workflow_scripts/ranking.py"


COMPILED = ("compilation", "energy", "energy_wide", "completion")


rule compile:
    input:
        tables=expand("results/tables/{hwcfg}.csv", hwcfg=config["run_hwconfigs"]),
        code=package_files("analysis/compile.py", "analysis/ranking.py", "analysis/markdown.py"),
    output:
        **{name: report(f"results/tables/{name}.csv", caption=f"../report/{name}.rst", category="Across configurations")
           for name in COMPILED},
        **{f"{name}_md": f"results/tables/{name}.md" for name in COMPILED},
    log:
        "results/logs/compile.log",
    script:
        "../workflow_scripts/compile.py"
