"""Rule prepare: decode the manifest's images once into arrays at one input size."""
from pathlib import Path

from edgebench import logs
from edgebench.data.prepare import prepare

logs.setup(snakemake.log[0])
prepare(snakemake.input.root, snakemake.input.manifest, int(snakemake.wildcards.size),
        Path(snakemake.output.train_x).parent)
