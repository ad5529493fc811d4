"""Checks and lookups on the validated workflow config that the JSON schema cannot express."""

from edgebench.hwconfig import HardwareConfig, check_host, load_profile, resolve


class ConfigError(ValueError):
    """A config value that is well-formed but inconsistent or impossible."""


def input_size(config: dict, model: str) -> int:
    """Return the input side in pixels for a model."""
    sizes = config["input_size"]
    return int(sizes.get(model, sizes["default"]))


def hardware_config(config: dict, name: str) -> HardwareConfig:
    """Return the resolved hardware configuration `name` (cores from the device profile)."""
    if name not in config["hwconfigs"]:
        raise ConfigError(f"hwconfig {name!r}: not defined under hwconfigs (defined: {', '.join(config['hwconfigs'])})")
    return resolve(name, config["hwconfigs"][name], load_profile(config["device_profile"]))


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

    load_profile(config["device_profile"])
    try:
        # A wall meter's keys that cannot work together; whether it answers is checked by each run.
        meter_settings(config["monitor"]["external"])
    except MeterError as error:
        raise ConfigError(str(error)) from None
    placed = set((config.get("slurm") or {}).get("hwconfigs") or {})
    unknown = sorted(placed - set(config["hwconfigs"]))
    if unknown:
        raise ConfigError(f"slurm.hwconfigs: {unknown} not defined under hwconfigs (defined: {', '.join(config['hwconfigs'])})")
    for name in config["run_hwconfigs"]:
        if host:
            runnable_config(config, name)
        else:
            hardware_config(config, name)  # raises on an unknown configuration or core group
