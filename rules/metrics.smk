# Tables: per configuration (the table contract in docs/design.md), rankings, and the compilation
# across configurations. Input functions: rules/common.smk.


rule table:
    input:
        unpack(table_inputs),
    output:
        csv=report(paths.TABLE, caption="../report/table.rst", category="Tables",
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
        table=paths.TABLE,
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
        tables=expand(paths.TABLE, hwcfg=config["run_hwconfigs"]),
        code=package_files("analysis/compile.py", "analysis/ranking.py", "analysis/markdown.py"),
    output:
        **{name: report(f"results/tables/{name}.csv", caption=f"../report/{name}.rst", category="Across configurations")
           for name in COMPILED},
        **{f"{name}_md": f"results/tables/{name}.md" for name in COMPILED},
    log:
        "results/logs/compile.log",
    script:
        "../workflow_scripts/compile.py"
