"""A small synthetic ImageNet tree (ILSVRC-2012 layout) that the whole workflow can run on.

The images are real JPEGs drawn from a seed. Each class has its own hue and shape, placed at a
random position and scale on a noisy, washed-out background, so a small CNN learns them in a
few epochs at 64x64 while no single pixel gives the answer away. File sizes are made
heavy-tailed (right-skewed, roughly log-normal) like ImageNet's by drawing each image's
dimensions, noise amount and JPEG quality from log-normal/uniform laws: the subset stage's
size statistics then have something realistic to work on.

With traps=True a few train images of the thesis classes reproduce ImageNet's real oddities
(a CMYK JPEG, a grayscale JPEG, a palette PNG saved under a .JPEG name) plus one truncated JPEG, so
the prepare stage's handling of each runs in the tests.
"""

import argparse
import colorsys
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from edgebench.atomic import atomic_dir
from edgebench.schema import section_defaults

DEFAULTS = section_defaults("dataset")["demo"]  # the config's dataset.demo defaults, written in the schema

# The ten synsets of the thesis's mImgNet10, in the thesis's order.
THESIS_WNIDS = [
    "n01440764", "n01443537", "n02037110", "n02051845", "n02125311",
    "n02127052", "n02799071", "n03443371", "n03929855", "n04435653",
]

# Real ImageNet synsets used as distractors: classes the subset stage can choose from but the
# thesis preset must leave out.
DISTRACTOR_WNIDS = [
    "n01530575", "n01531178", "n01532829", "n01534433", "n01537544",
    "n01558993", "n01560419", "n01580077", "n01582220", "n01592084",
]

WNID_NAMES = {
    "n01440764": "tench",
    "n01443537": "goldfish",
    "n02037110": "oystercatcher",
    "n02051845": "pelican",
    "n02125311": "cougar",
    "n02127052": "lynx",
    "n02799071": "baseball",
    "n03443371": "goblet",
    "n03929855": "pickelhaube",
    "n04435653": "tile roof",
    "n01530575": "brambling",
    "n01531178": "goldfinch",
    "n01532829": "house finch",
    "n01534433": "junco",
    "n01537544": "indigo bunting",
    "n01558993": "robin",
    "n01560419": "bulbul",
    "n01580077": "jay",
    "n01582220": "magpie",
    "n01592084": "chickadee",
}

SHAPES = ["ellipse", "rectangle", "triangle", "ring", "cross", "diamond", "stripes"]

# Aspect ratios (width / height) seen most often in ImageNet.
ASPECTS = [4 / 3, 3 / 4, 1.0, 3 / 2, 2 / 3]


def demo_classes(distractor_classes=4):
    """Return the demo's wnids: the thesis's ten, then `distractor_classes` distractors."""
    if not 0 <= distractor_classes <= len(DISTRACTOR_WNIDS):
        raise ValueError(
            f"distractor_classes={distractor_classes}: must be between 0 and {len(DISTRACTOR_WNIDS)}"
        )
    return THESIS_WNIDS + DISTRACTOR_WNIDS[:distractor_classes]


def class_style(index, n_classes):
    """Return (rgb colour, shape name) that identify class number `index` of `n_classes`."""
    # Hues evenly spread, shapes cycling with a period coprime to most class counts, so two
    # classes never share both colour and shape.
    hue = index / n_classes
    r, g, b = colorsys.hsv_to_rgb(hue, 0.9, 0.95)
    return (int(r * 255), int(g * 255), int(b * 255)), SHAPES[index % len(SHAPES)]


def _draw_shape(draw, shape, box, colour, rng):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if shape == "ellipse":
        draw.ellipse(box, fill=colour)
    elif shape == "rectangle":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=max(2, int(min(w, h) * 0.18)))
    elif shape == "cross":
        tw, th = w * 0.3, h * 0.3
        draw.rectangle((cx - tw / 2, y0, cx + tw / 2, y1), fill=colour)
        draw.rectangle((x0, cy - th / 2, x1, cy + th / 2), fill=colour)
    elif shape == "diamond":
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=colour)
    elif shape == "stripes":
        bands = int(rng.integers(3, 6))
        step = h / (2 * bands)
        for k in range(bands):
            top = y0 + 2 * k * step
            draw.rectangle((x0, top, x1, top + step), fill=colour)
    else:  # pragma: no cover - SHAPES is closed
        raise ValueError(f"unknown shape {shape!r}")


def render_image(rng, colour, shape):
    """Return (PIL RGB image, JPEG quality) for one sample of a class, drawn from `rng`."""
    # Log-normal long side: most images small, a few large -> right-skewed file sizes.
    long_side = float(np.clip(np.exp(rng.normal(np.log(150), 0.35)), 80, 480))
    aspect = ASPECTS[int(rng.integers(len(ASPECTS)))]
    if aspect >= 1:
        width, height = long_side, long_side / aspect
    else:
        width, height = long_side * aspect, long_side
    width, height = max(64, int(width)), max(64, int(height))

    # A washed-out background (grey plus a faint tint): the object's hue carries the class.
    grey = rng.integers(70, 190)
    background = tuple(int(v) for v in np.clip(grey + rng.integers(-20, 21, size=3), 0, 255))
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)

    # The object stays inside the central square so a centre crop keeps it.
    short = min(width, height)
    side = short * rng.uniform(0.45, 0.8)
    ox = (width - short) / 2 + rng.uniform(0, short - side)
    oy = (height - short) / 2 + rng.uniform(0, short - side)
    jitter = rng.normal(0, 12, size=3)
    fill = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(colour, jitter))
    _draw_shape(draw, shape, (ox, oy, ox + side, oy + side), fill, rng)

    # Noise amount is the main driver of JPEG size; log-normal gives the long right tail.
    noise_sigma = float(np.clip(np.exp(rng.normal(np.log(7), 0.6)), 1, 45))
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0, noise_sigma, size=pixels.shape).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    quality = int(rng.integers(70, 96))
    return image, quality


def _encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _trap_bytes(kind, image, quality):
    """Return the file content for one trap image."""
    if kind == "cmyk":
        return _encode(image.convert("CMYK"), "JPEG", quality=quality)
    if kind == "grayscale":
        return _encode(image.convert("L"), "JPEG", quality=quality)
    if kind == "png":
        # A 16-colour palette PNG: a file size like its JPEG neighbours (so the subset can pick
        # it) and a palette image for the prepare stage to convert.
        return _encode(image.quantize(16), "PNG")
    if kind == "truncated":
        data = _encode(image, "JPEG", quality=quality)
        # Keep the headers and part of the scan: Image.open() succeeds, decoding fails, as
        # with a download cut short.
        return data[: max(len(data) * 2 // 5, 700)]
    raise ValueError(f"unknown trap kind {kind!r}")


TRAP_KINDS = ["cmyk", "grayscale", "png", "truncated"]


def generate_demo_tree(root, *, seed=DEFAULTS["seed"], train_per_class=DEFAULTS["train_per_class"],
                       val_per_class=DEFAULTS["val_per_class"], distractor_classes=DEFAULTS["distractor_classes"],
                       traps=True, overwrite=False):
    """Write the demo tree at `root` atomically and return a summary dict (classes, counts, traps)."""
    if train_per_class < 1 or val_per_class < 0:
        raise ValueError("train_per_class must be >= 1 and val_per_class >= 0")
    wnids = demo_classes(distractor_classes)
    if traps and train_per_class < len(TRAP_KINDS):
        raise ValueError(f"traps=True needs train_per_class >= {len(TRAP_KINDS)}")
    root = Path(root)
    seq = np.random.SeedSequence(seed)
    layout_rng = np.random.default_rng(seq.spawn(1)[0])

    # Traps go to distinct thesis classes at random train indices, so they are real labelled
    # members of the classes the thesis preset selects.
    trap_at = {}
    if traps:
        trap_classes = layout_rng.choice(len(THESIS_WNIDS), size=len(TRAP_KINDS), replace=False)
        for kind, class_index in zip(TRAP_KINDS, trap_classes):
            trap_at[(int(class_index), int(layout_rng.integers(train_per_class)))] = kind

    # ILSVRC numbers val images 1..50000 across classes in no class order.
    val_numbers = layout_rng.permutation(len(wnids) * val_per_class) + 1

    summary = {"root": str(root), "seed": seed, "classes": wnids,
               "names": {w: WNID_NAMES[w] for w in wnids},
               "train_images": 0, "val_images": 0, "total_bytes": 0, "traps": {}}
    with atomic_dir(root, overwrite=overwrite) as tmp:
        for class_index, wnid in enumerate(wnids):
            colour, shape = class_style(class_index, len(wnids))
            # One independent stream per class and split keeps each file stable when the
            # number of classes or images changes.
            train_seq, val_seq = np.random.SeedSequence([seed, class_index]).spawn(2)
            train_rng, val_rng = np.random.default_rng(train_seq), np.random.default_rng(val_seq)
            train_dir = tmp / "train" / wnid
            train_dir.mkdir(parents=True)
            for n in range(train_per_class):
                image, quality = render_image(train_rng, colour, shape)
                kind = trap_at.get((class_index, n))
                name = f"{wnid}_{n + 1}.JPEG"
                data = _trap_bytes(kind, image, quality) if kind else _encode(image, "JPEG", quality=quality)
                (train_dir / name).write_bytes(data)
                if kind:
                    summary["traps"][kind] = f"train/{wnid}/{name}"
                summary["train_images"] += 1
                summary["total_bytes"] += len(data)
            if val_per_class:
                val_dir = tmp / "val" / wnid
                val_dir.mkdir(parents=True)
                for n in range(val_per_class):
                    image, quality = render_image(val_rng, colour, shape)
                    number = int(val_numbers[class_index * val_per_class + n])
                    data = _encode(image, "JPEG", quality=quality)
                    (val_dir / f"ILSVRC2012_val_{number:08d}.JPEG").write_bytes(data)
                    summary["val_images"] += 1
                    summary["total_bytes"] += len(data)
    return summary


def cli(argv) -> int:
    """`edgebench dataset demo ROOT`: write the demo tree; return an exit code."""
    parser = argparse.ArgumentParser(prog="edgebench dataset demo", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="directory to create (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help="seed every image is drawn from (default: %(default)s)")
    parser.add_argument("--train-per-class", type=int, default=DEFAULTS["train_per_class"],
                        help="train images per class (default: %(default)s)")
    parser.add_argument("--val-per-class", type=int, default=DEFAULTS["val_per_class"],
                        help="val images per class (default: %(default)s)")
    parser.add_argument("--distractor-classes", type=int, default=DEFAULTS["distractor_classes"],
                        help="classes besides the thesis's ten (default: %(default)s)")
    parser.add_argument("--no-traps", action="store_true", help="leave out the CMYK/gray/PNG/corrupt files")
    parser.add_argument("--overwrite", action="store_true", help="replace a ROOT that is not empty")
    args = parser.parse_args(argv)
    try:
        summary = generate_demo_tree(
            args.root, seed=args.seed, train_per_class=args.train_per_class,
            val_per_class=args.val_per_class, distractor_classes=args.distractor_classes,
            traps=not args.no_traps, overwrite=args.overwrite)
    except (ValueError, FileExistsError) as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    print(json.dumps({k: summary[k] for k in ("root", "train_images", "val_images", "total_bytes", "traps")}))
    return 0
