"""The manifest contract between the subset and prepare stages."""

import pandas as pd

SPLITS = ("train", "val")
MANIFEST_COLUMNS = ["split", "wnid", "label", "path", "bytes"]


def read_manifest(manifest_path):
    """Return the manifest as a DataFrame after checking its columns and labels."""
    manifest = pd.read_csv(manifest_path, dtype={"split": str, "wnid": str, "path": str})
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise ValueError(f"{manifest_path}: missing columns {missing} (need {MANIFEST_COLUMNS})")
    if manifest.empty:
        raise ValueError(f"{manifest_path}: manifest has no rows")
    unknown = sorted(set(manifest["split"]) - set(SPLITS))
    if unknown:
        raise ValueError(f"{manifest_path}: unknown split(s) {unknown} (expected {list(SPLITS)})")
    classes = sorted(manifest["wnid"].unique())
    expected = manifest["wnid"].map({w: i for i, w in enumerate(classes)})
    if not (expected == manifest["label"]).all():
        raise ValueError(f"{manifest_path}: labels are not the index of the wnid in the sorted wnids")
    return manifest
