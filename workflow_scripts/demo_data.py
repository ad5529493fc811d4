"""Rule demo_data: generate the bundled demo ImageNet-layout tree."""
from edgebench import logs
from edgebench.data.demo import generate_demo_tree

logs.setup(snakemake.log[0])
generate_demo_tree(snakemake.output[0], **snakemake.params.demo)
