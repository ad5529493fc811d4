"""File-size statistics of an ILSVRC-2012 tree, from directory listings alone (no decoding).

Train is `root/train/<wnid>/*.JPEG`. Val is either per-class (`root/val/<wnid>/*.JPEG`) or
flat (`root/val/*.JPEG`) with a labels file: Kaggle's LOC_val_solution.csv (found in the root
or up to three levels above it, where the Kaggle archive puts it) or the devkit's
ILSVRC2012_validation_ground_truth.txt with its meta.mat (IDs -> wnids).

Class folders are listed in parallel with os.scandir in a thread pool: the work is stat()
system calls, which release the GIL, so threads overlap them well even on few cores.
"""

import argparse
import csv
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from edgebench.atomic import write_json_atomic
from edgebench.data.zones import zone_counts

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
LOC_VAL_SOLUTION = "LOC_val_solution.csv"
DEVKIT_GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt"
DEFAULT_WORKERS = 16


def _is_image_name(name):
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def list_images(directory):
    """Return (sorted file names, int64 sizes in bytes) of the image files in `directory`."""
    entries = []
    ignored = 0
    with os.scandir(directory) as it:
        for entry in it:
            if entry.is_file() and _is_image_name(entry.name):
                entries.append((entry.name, entry.stat().st_size))
            elif not entry.name.startswith("."):
                ignored += 1
    entries.sort()
    names = [name for name, _ in entries]
    sizes = np.fromiter((size for _, size in entries), dtype=np.int64, count=len(entries))
    return names, sizes, ignored


def _read_loc_val_solution(path):
    labels = {}
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
            raise ValueError(f"{path}: expected header 'ImageId,PredictionString', got {header}")
        for line_no, row in enumerate(reader, start=2):
            if len(row) < 2 or not row[1].split():
                raise ValueError(f"{path}:{line_no}: expected 'ImageId,wnid x y x y ...', got {row}")
            # The first token of the box list is the image's class.
            labels[row[0].strip()] = row[1].split()[0]
    return labels


def _read_devkit_ground_truth(path):
    meta = Path(path).with_name("meta.mat")
    if not meta.is_file():
        raise FileNotFoundError(f"{meta}: needed beside {path} to map ILSVRC2012 IDs to wnids")
    from scipy.io import loadmat

    synsets = loadmat(meta, squeeze_me=True)["synsets"]
    id_to_wnid = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets}
    labels = {}
    with open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                labels[f"ILSVRC2012_val_{line_no:08d}"] = id_to_wnid[int(text)]
            except (ValueError, KeyError):
                raise ValueError(f"{path}:{line_no}: {text!r} is not an ILSVRC2012_ID in {meta}") from None
    return labels


def find_val_labels(root):
    """Return the path of a val labels file for a flat val folder, or None if there is none."""
    root = Path(root).resolve()
    for base in [root, *list(root.parents)[:3]]:
        for candidate in (base / LOC_VAL_SOLUTION,
                          base / "ILSVRC2012_devkit_t12" / "data" / DEVKIT_GROUND_TRUTH,
                          base / DEVKIT_GROUND_TRUTH):
            if candidate.is_file():
                return candidate
    return None


def read_val_labels(path):
    """Return {image id (file stem): wnid} from LOC_val_solution.csv or the devkit ground truth."""
    path = Path(path)
    if path.name.endswith(".csv"):
        return _read_loc_val_solution(path)
    return _read_devkit_ground_truth(path)


def list_split(root, split, *, workers=None, val_labels=None, classes=None):
    """Return {wnid: (relative paths, int64 sizes)} and a dict describing the split's layout."""
    root = Path(root)
    split_dir = root / split
    if not split_dir.is_dir():
        raise FileNotFoundError(f"{split_dir}: no '{split}' folder in the dataset root")
    with os.scandir(split_dir) as it:
        class_dirs = sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))
    wanted = None if classes is None else set(classes)
    info = {"layout": "per-class", "ignored_files": 0}
    if class_dirs:
        if wanted is not None:
            class_dirs = [w for w in class_dirs if w in wanted]
        with ThreadPoolExecutor(max_workers=workers or DEFAULT_WORKERS) as pool:
            listings = list(pool.map(list_images, [split_dir / w for w in class_dirs]))
        files = {}
        for wnid, (names, sizes, ignored) in zip(class_dirs, listings):
            info["ignored_files"] += ignored
            files[wnid] = ([f"{split}/{wnid}/{n}" for n in names], sizes)
        return files, info

    # No class folders: ILSVRC's flat val layout, labelled by a separate file.
    names, sizes, ignored = list_images(split_dir)
    info.update(layout="flat", ignored_files=ignored)
    if not names:
        return {}, info
    labels_path = Path(val_labels) if val_labels else find_val_labels(root)
    if labels_path is None:
        raise FileNotFoundError(
            f"{split_dir}: flat layout (no class folders) but no {LOC_VAL_SOLUTION} or "
            f"{DEVKIT_GROUND_TRUTH} found in {root} or the three folders above it")
    labels = read_val_labels(labels_path)
    info["labels_file"] = str(labels_path)
    by_class = {}
    unlabelled = []
    for name, size in zip(names, sizes):
        wnid = labels.get(name.rsplit(".", 1)[0])
        if wnid is None:
            unlabelled.append(name)
        elif wanted is None or wnid in wanted:
            by_class.setdefault(wnid, ([], []))
            by_class[wnid][0].append(f"{split}/{name}")
            by_class[wnid][1].append(int(size))
    info["unlabelled"] = len(unlabelled)
    info["unlabelled_examples"] = unlabelled[:10]
    files = {w: (paths, np.asarray(s, dtype=np.int64)) for w, (paths, s) in sorted(by_class.items())}
    return files, info


def size_summary(sizes):
    """Return count, total, mean, std (population), min, q1, median, q3, max of `sizes`."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.size == 0:
        return {"count": 0}
    q = np.percentile(sizes, [0, 25, 50, 75, 100])
    return {"count": int(sizes.size), "total_bytes": int(sizes.sum()), "mean": float(sizes.mean()),
            "std": float(sizes.std()), "min": int(q[0]), "q1": float(q[1]), "median": float(q[2]),
            "q3": float(q[3]), "max": int(q[4])}


def _split_stats(files, info):
    all_sizes = np.concatenate([s for _, s in files.values()]) if files else np.empty(0, np.int64)
    overall = size_summary(all_sizes)
    stats = dict(info)
    stats["classes_count"] = len(files)
    stats["overall"] = overall
    if overall["count"]:
        stats["overall"]["zones"] = zone_counts(all_sizes, overall["mean"], overall["std"])
    stats["classes"] = {wnid: size_summary(sizes) for wnid, (_, sizes) in files.items()}
    return stats


def scan_tree(root, *, workers=None, val_labels=None):
    """Return the stats dict: file-size summaries overall and per class, for train and val."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset root does not exist or is not a directory")
    files, info = list_split(root, "train", workers=workers)
    stats = {"root": str(root), "train": _split_stats(files, info)}
    if stats["train"]["overall"]["count"] == 0:
        raise ValueError(f"{root / 'train'}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    if (root / "val").is_dir():
        files, info = list_split(root, "val", workers=workers, val_labels=val_labels)
        stats["val"] = _split_stats(files, info)
    return stats


def write_stats(root, out_path, **options):
    """Scan `root`, write the stats as JSON to `out_path` atomically, and return them."""
    stats = scan_tree(root, **options)
    write_json_atomic(out_path, stats)
    return stats


def cli(argv) -> int:
    """`edgebench dataset scan ROOT OUT_JSON`: write stats.json; return an exit code."""
    parser = argparse.ArgumentParser(prog="edgebench dataset scan", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="ILSVRC-2012 tree (with train/ and optionally val/)")
    parser.add_argument("out", help="stats.json to write")
    parser.add_argument("--workers", type=int, default=None, help=f"listing threads (default {DEFAULT_WORKERS})")
    parser.add_argument("--val-labels", default=None, help="labels file for a flat val folder")
    args = parser.parse_args(argv)
    try:
        stats = write_stats(args.root, args.out, workers=args.workers, val_labels=args.val_labels)
    except (ValueError, FileNotFoundError) as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    print(json.dumps({split: stats[split]["overall"]["count"] for split in ("train", "val") if split in stats}))
    return 0
