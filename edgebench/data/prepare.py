"""Decode a manifest's images once into uint8 arrays that both frameworks read.

Each image is opened with Pillow, converted to RGB (ImageNet has CMYK and grayscale JPEGs and
one PNG under a .JPEG name), its shorter side resized to `size` and the centre `size`x`size`
cropped, as torchvision's Resize(size) + CenterCrop(size) do. A file that cannot be decoded
is skipped, counted and listed in report.json; it never stops the run.

Output directory (written under a temporary name, then renamed):
    train_x.npy  uint8 N x size x size x 3 (HWC)    train_y.npy  int64 N
    val_x.npy, val_y.npy                           classes.json  label -> wnid list
    report.json  counts, skipped files with reasons, source modes and formats
"""

import argparse
import collections
import json
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap
from PIL import Image

from edgebench.atomic import atomic_dir, write_json_atomic
from edgebench.data.manifest import SPLITS, read_manifest

# Errors Pillow raises for unreadable images: truncated or corrupt data (OSError, also
# UnidentifiedImageError), broken headers (SyntaxError, ValueError, EOFError), bombs.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def resize_and_crop(image, size):
    """Return `image` with its shorter side resized to `size` and centre-cropped to size x size."""
    width, height = image.size
    scale = size / min(width, height)
    # Rounded like torchvision's Resize, so cache and native modes see the same geometry.
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def decode_image(path, size):
    """Return (uint8 size x size x 3 array, source mode, source format) for the image at `path`."""
    with warnings.catch_warnings():
        # Pillow warns (rather than fails) on some damaged EXIF blocks; the pixels are fine.
        warnings.simplefilter("ignore", UserWarning)
        with Image.open(path) as image:
            mode, fmt = image.mode, image.format
            # JPEG DCT scaling: decode at the smallest power-of-two reduction still >= size,
            # which makes big ImageNet JPEGs several times cheaper to decode.
            image.draft("RGB", (size, size))
            image.load()
            rgb = image.convert("RGB")
    array = np.asarray(resize_and_crop(rgb, size), dtype=np.uint8)
    return array, mode, fmt


def _decode_or_reason(path, size):
    try:
        return decode_image(path, size), None
    except DECODE_ERRORS as error:
        return None, f"{type(error).__name__}: {error}"


def _prepare_split(root, rows, size, tmp, split, workers, report, progress):
    count = len(rows)
    x = open_memmap(tmp / f"{split}_x.npy", mode="w+", dtype=np.uint8, shape=(count, size, size, 3))
    y = np.empty(count, dtype=np.int64)
    written = 0
    rel_paths, wnids, labels = rows["path"].tolist(), rows["wnid"].tolist(), rows["label"].tolist()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Pillow releases the GIL while decoding; chunks keep finished images from piling up.
        chunk = 256
        for start in range(0, count, chunk):
            stop = min(start + chunk, count)
            paths = [root / p for p in rel_paths[start:stop]]
            for i, (decoded, reason) in enumerate(pool.map(_decode_or_reason, paths, [size] * len(paths)),
                                                  start=start):
                if decoded is None:
                    report["skipped"].append({"split": split, "path": rel_paths[i], "wnid": wnids[i],
                                              "reason": reason})
                    continue
                array, mode, fmt = decoded
                x[written] = array
                y[written] = labels[i]
                report["source_modes"][mode] += 1
                report["source_formats"][fmt or "unknown"] += 1
                written += 1
            if progress is not None:
                progress(split, stop, count)
    x.flush()
    del x
    if written < count:
        # Skipped files leave unused rows at the end; copy the written ones to a right-sized
        # array (rare, and far cheaper than decoding twice to count first).
        full = np.load(tmp / f"{split}_x.npy", mmap_mode="r")
        exact = open_memmap(tmp / f"{split}_x.tmp.npy", mode="w+", dtype=np.uint8,
                            shape=(written, size, size, 3))
        for start in range(0, written, 4096):
            stop = min(start + 4096, written)
            exact[start:stop] = full[start:stop]
        exact.flush()
        del exact, full
        (tmp / f"{split}_x.tmp.npy").replace(tmp / f"{split}_x.npy")
    np.save(tmp / f"{split}_y.npy", y[:written])
    report["splits"][split] = {"listed": count, "written": written, "skipped": count - written}


def prepare(root, manifest_path, size, out_dir, *, workers=None, overwrite=True, progress=None):
    """Write the prepared arrays for every split of the manifest to `out_dir`; return the report.

    `progress`, if given, is called as progress(split, images_done, images_total) every 256 images.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset root does not exist or is not a directory")
    if not any(root.iterdir()):
        raise ValueError(f"{root}: dataset root is empty")
    size = int(size)
    if size < 1:
        raise ValueError(f"size={size}: must be a positive number of pixels")
    manifest = read_manifest(manifest_path)
    classes = sorted(manifest["wnid"].unique())
    report = {"root": str(root), "manifest": str(manifest_path), "size": size, "splits": {},
              "skipped": [], "source_modes": collections.Counter(),
              "source_formats": collections.Counter()}
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        for split in SPLITS:
            rows = manifest[manifest["split"] == split].reset_index(drop=True)
            if len(rows):
                _prepare_split(root, rows, size, tmp, split, workers, report, progress)
        report["source_modes"] = dict(report["source_modes"])
        report["source_formats"] = dict(report["source_formats"])
        report["skipped_count"] = len(report["skipped"])
        write_json_atomic(tmp / "classes.json", classes)
        write_json_atomic(tmp / "report.json", report)
    return report


def _print_progress(split, done, total):
    print(f"prepare {split}: {done}/{total} images", file=sys.stderr, flush=True)


def cli(argv) -> int:
    """`edgebench dataset prepare ROOT MANIFEST SIZE OUT_DIR`: write prepared arrays; return an exit code."""
    parser = argparse.ArgumentParser(prog="edgebench dataset prepare", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="dataset root (the ILSVRC tree the manifest paths are relative to)")
    parser.add_argument("manifest", help="manifest.csv from the subset stage")
    parser.add_argument("size", type=int, help="output image side in pixels")
    parser.add_argument("out_dir", help="directory to write (replaced atomically)")
    parser.add_argument("--workers", type=int, default=None, help="decoding threads")
    args = parser.parse_args(argv)
    try:
        report = prepare(args.root, args.manifest, args.size, args.out_dir, workers=args.workers,
                         progress=_print_progress)
    except (ValueError, FileNotFoundError) as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    for skipped in report["skipped"]:
        print(f"skipped {skipped['path']}: {skipped['reason']}", file=sys.stderr)
    print(json.dumps({"splits": report["splits"], "skipped": report["skipped_count"]}))
    return 0
