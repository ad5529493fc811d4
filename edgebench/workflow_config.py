"""The workflow config: loaded as Snakemake builds it, and the checks and lookups the JSON schema cannot express.

The Snakefile and the commands that read the config without Snakemake (`edgebench status`,
`edgebench check`, `edgebench meter-check`) go through `prepare`, so both see the same config.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import yaml

from edgebench.hwconfig import HardwareConfig, check_host, load_board, resolve
from edgebench.schema import SCHEMA_PATH, fill_defaults, merged

REPO = SCHEMA_PATH.parents[1]
# Old key -> its new name; an old name is still read, with a warning.
OLD_NAMES = {"device_profile": "board"}


class ConfigError(ValueError):
    """A config value that is well-formed but inconsistent or impossible."""


def accept_old_names(config: dict) -> dict:
    """Move keys given under an old name to their new one (in place) and return the config.

    config.yaml uses the new names, so an old name can only come from a user's overlay: it wins.
    """
    for old, new in OLD_NAMES.items():
        if old in config:
            warnings.warn(f"config key {old!r} is now called {new!r}; please rename it", FutureWarning, stacklevel=2)
            config[new] = config.pop(old)
    return config


def prepare(config: dict) -> dict:
    """Return the merged config validated, old names moved and the schema's defaults filled in (in place).

    Where Snakemake is not installed (a board's own Python running `edgebench meter-check`), the
    config is not validated, only completed with the schema's defaults.
    """
    accept_old_names(config)
    try:
        from snakemake.utils import validate
    except ImportError:
        config.update(fill_defaults(config))
        return config
    validate(config, str(SCHEMA_PATH))
    return config


def add_arguments(parser) -> None:
    """Give a command the options that say which config it reads, as snakemake takes them."""
    parser.add_argument("--configfile", action="append", default=[],
                        help="a config overlay over config.yaml, as given to snakemake (repeat for several)")
    parser.add_argument("--directory", "-d", type=Path, default=Path("."),
                        help="the workflow's working directory (where results/ is; overlays are relative to it)")


def from_arguments(args) -> dict:
    """Return the config a command's parsed add_arguments options name."""
    return load(args.configfile, args.directory)


def load(configfiles=(), workdir=Path(".")) -> dict:
    """Return the workflow config as Snakemake builds it: config.yaml, then each --configfile merged over it."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in configfiles:
        config = merged(config, yaml.safe_load((Path(workdir) / path).read_text()) or {})
    return prepare(config)


def input_size(config: dict, model: str) -> int:
    """Return the input side in pixels for a model."""
    sizes = config["input_size"]
    return int(sizes.get(model, sizes["default"]))


def hardware_config(config: dict, name: str) -> HardwareConfig:
    """Return the resolved hardware configuration `name` (cores from the board description)."""
    if name not in config["hwconfigs"]:
        raise ConfigError(f"hwconfig {name!r}: not defined under hwconfigs (defined: {', '.join(config['hwconfigs'])})")
    return resolve(name, config["hwconfigs"][name], load_board(config["board"]))


def runnable_config(config: dict, name: str) -> HardwareConfig:
    """Return configuration `name` resolved, or raise HardwareConfigError if this host cannot run it
    (a core or the GPU missing, a framework's interpreter missing or without its framework)."""
    from edgebench.interpreters import check_interpreters

    cfg = hardware_config(config, name)
    check_host(cfg)
    check_interpreters(config)
    return cfg


def check(config: dict, *, host: bool = True) -> None:
    """Raise ConfigError (or HardwareConfigError) if the config cannot run; host=False skips host checks."""
    from edgebench.monitor.wall import MeterError, meter_settings

    load_board(config["board"])
    try:
        # A wall meter's keys that cannot work together; whether it answers is checked by each run.
        meter_settings(config["monitor"]["external"])
    except MeterError as error:
        raise ConfigError(str(error)) from None
    placed = set(config["slurm"]["hwconfigs"])
    unknown = sorted(placed - set(config["hwconfigs"]))
    if unknown:
        raise ConfigError(f"slurm.hwconfigs: {unknown} not defined under hwconfigs (defined: {', '.join(config['hwconfigs'])})")
    for name in config["run_hwconfigs"]:
        if host:
            runnable_config(config, name)
        else:
            hardware_config(config, name)  # raises on an unknown configuration or core group
