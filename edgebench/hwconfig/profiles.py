"""Device profiles: the named core groups, GPU and power rails of a board (resources/profiles)."""

from __future__ import annotations

from pathlib import Path

import yaml

PROFILES_DIR = Path(__file__).resolve().parents[2] / "resources" / "profiles"


def available_profiles() -> list[str]:
    """Return the names of the bundled device profiles."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def profile_path(name_or_path) -> Path:
    """Return the YAML file of a bundled profile name, or the given path if it is a file."""
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith((".yaml", ".yml")) or path.is_file()):
        path = PROFILES_DIR / f"{text}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"device_profile {text!r} not found (known profiles: {', '.join(available_profiles())}; "
            "or give the path of a .yaml file)"
        )
    return path


def load_profile(name_or_path) -> dict:
    """Return a device profile as a dict (name, description, cores, gpu, monitor, power)."""
    path = profile_path(name_or_path)
    with open(path, encoding="utf-8") as fh:
        profile = yaml.safe_load(fh)
    if not isinstance(profile, dict) or "name" not in profile:
        raise ValueError(f"device profile {path}: not a mapping with a 'name'")
    profile.setdefault("cores", {})
    profile.setdefault("gpu", None)
    profile.setdefault("monitor", "host")
    profile.setdefault("power", {})
    return profile
