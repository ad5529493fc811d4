"""Device profiles: the named core groups, GPU and power rails of a board (resources/profiles)."""

from pathlib import Path

import yaml

PROFILES_DIR = Path(__file__).resolve().parents[2] / "resources" / "profiles"


def available_profiles() -> list[str]:
    """Return the names of the bundled device profiles."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def profile_path(name_or_path) -> Path:
    """Return the YAML file of a bundled profile name, or the given path if it is a file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    path = PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ValueError(
            f"device_profile {name_or_path!r}: no such profile; "
            f"bundled: {', '.join(available_profiles())}, or give a path to a .yaml file"
        )
    return path


def load_profile(name_or_path) -> dict:
    """Return a device profile as a dict (name, description, cores, gpu, monitor, power)."""
    path = profile_path(name_or_path)
    with open(path) as fh:
        profile = yaml.safe_load(fh)
    for key in ("name", "cores"):
        if key not in (profile or {}):
            raise ValueError(f"device profile {path}: missing key {key!r}")
    profile.setdefault("gpu", None)
    profile.setdefault("monitor", "host")
    profile.setdefault("power", {})
    return profile
