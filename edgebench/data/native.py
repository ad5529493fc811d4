"""The `native` loader mode: each framework's own folder dataset and DataLoader over the JPEGs.

Thesis-faithful: torchvision ImageFolder + DataLoader and Gluon ImageFolderDataset +
DataLoader decode the subset's JPEGs every epoch with equivalent transforms (resize the
shorter side, centre crop, optional random horizontal flip, ImageNet normalization).

Both datasets want a `split/<wnid>/<file>` folder per split holding exactly the subset, so
`materialize_subset` builds one from the manifest with symbolic links (as the thesis's shell
script copied the chosen files into mImgNet10). Files the prepare stage could not decode
are left out, so the two modes train on the same images.

Both folder datasets list classes and files in sorted order, so a sample index means the same
image in both, and both DataLoaders take their per-epoch order from loader.epoch_order:
the two frameworks see the same samples in the same order, as in cache mode. Flips are the
frameworks' own random transforms here (seed them with the framework's seed call); identical
flip decisions across frameworks are what cache mode is for.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from edgebench.atomic import atomic_dir, write_json_atomic
from edgebench.data.loader import IMAGENET_MEAN, IMAGENET_STD, epoch_order
from edgebench.data.manifest import SPLITS, read_manifest


def skipped_paths(prepare_report_path):
    """Return the manifest paths the prepare stage skipped, from its report.json."""
    report = json.loads(Path(prepare_report_path).read_text())
    return sorted({entry["path"] for entry in report.get("skipped", [])})


def materialize_subset(root, manifest_path, out_dir, *, exclude=(), overwrite=True):
    """Write `out_dir/<split>/<wnid>/<file>` symlinks and classes.json; return counts."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset root does not exist or is not a directory")
    manifest = read_manifest(manifest_path)
    exclude = set(exclude)
    counts = {"linked": {}, "excluded": sorted(exclude & set(manifest["path"]))}
    classes = sorted(manifest["wnid"].unique())
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        for split in SPLITS:
            # Every class folder in every split, even an empty one: the folder datasets number
            # classes by folder, and a missing folder would shift every later label.
            for wnid in classes:
                (tmp / split / wnid).mkdir(parents=True)
            rows = manifest[(manifest["split"] == split) & ~manifest["path"].isin(exclude)]
            for row in rows.itertuples():
                source = root / row.path
                if not source.is_file():
                    raise FileNotFoundError(f"{source}: listed in {manifest_path} but missing")
                # Flat val files (val/<name>) get their class folder here.
                link = tmp / split / row.wnid / Path(row.path).name
                os.symlink(source, link)
            counts["linked"][split] = len(rows)
        write_json_atomic(tmp / "classes.json", classes)
    return counts


def _check_classes(subset_dir, found):
    expected = json.loads((Path(subset_dir) / "classes.json").read_text())
    if list(found) != expected:
        raise ValueError(f"{subset_dir}: class folders {list(found)} differ from classes.json {expected}")


class EpochSampler:
    """Sample indices in loader.epoch_order for (seed, epoch); set_epoch() moves on."""

    def __init__(self, n, *, seed, epoch=0, shuffle=True):
        self.n, self.seed, self.epoch, self.shuffle = n, seed, epoch, shuffle

    def set_epoch(self, epoch):
        """Use the order of `epoch` from the next iteration on."""
        self.epoch = epoch

    def __iter__(self):
        return iter(epoch_order(self.n, seed=self.seed, epoch=self.epoch, shuffle=self.shuffle).tolist())

    def __len__(self):
        return self.n


def torch_loader(subset_dir, split, size, batch_size, *, seed, epoch=0, shuffle=True, augment=False,
                 num_workers=0, drop_last=False):
    """Return a torch DataLoader over ImageFolder(subset_dir/split) yielding (N x 3 x size x size, labels)."""
    import torch
    from torchvision import datasets, transforms

    steps = [transforms.Resize(size), transforms.CenterCrop(size)]
    if augment:
        steps.append(transforms.RandomHorizontalFlip())
    steps += [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN.tolist(), IMAGENET_STD.tolist())]
    dataset = datasets.ImageFolder(str(Path(subset_dir) / split), transform=transforms.Compose(steps),
                                   allow_empty=True)
    _check_classes(subset_dir, dataset.classes)
    sampler = EpochSampler(len(dataset), seed=seed, epoch=epoch, shuffle=shuffle)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler,
                                       num_workers=num_workers, drop_last=drop_last,
                                       generator=torch.Generator().manual_seed(seed))


def gluon_loader(subset_dir, split, size, batch_size, *, seed, epoch=0, shuffle=True, augment=False,
                 num_workers=0, drop_last=False):
    """Return a Gluon DataLoader over ImageFolderDataset(subset_dir/split) yielding (N x 3 x size x size, labels)."""
    from edgebench.compat import import_mxnet

    mx = import_mxnet()
    from mxnet.gluon.data import DataLoader
    from mxnet.gluon.data.vision import ImageFolderDataset, transforms

    steps = [transforms.Resize(size, keep_ratio=True), transforms.CenterCrop(size)]
    if augment:
        steps.append(transforms.RandomFlipLeftRight())
    steps += [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN.tolist(), IMAGENET_STD.tolist())]
    mx.random.seed(seed)
    dataset = ImageFolderDataset(str(Path(subset_dir) / split), flag=1)
    _check_classes(subset_dir, dataset.synsets)
    dataset = dataset.transform_first(transforms.Compose(steps))
    sampler = EpochSampler(len(dataset), seed=seed, epoch=epoch, shuffle=shuffle)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      last_batch="discard" if drop_last else "keep")


def cli(argv) -> int:
    """`edgebench dataset jpeg-subset ROOT MANIFEST OUT_DIR [--prepare-report R]`: link the subset; exit code."""
    parser = argparse.ArgumentParser(prog="edgebench dataset jpeg-subset", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="dataset root (the ILSVRC tree the manifest paths are relative to)")
    parser.add_argument("manifest", help="manifest.csv from the subset stage")
    parser.add_argument("out_dir", help="directory of split/<wnid>/ links to write")
    parser.add_argument("--prepare-report", default=None,
                        help="report.json of the prepare stage: its skipped files are left out")
    args = parser.parse_args(argv)
    exclude = skipped_paths(args.prepare_report) if args.prepare_report else ()
    try:
        counts = materialize_subset(args.root, args.manifest, args.out_dir, exclude=exclude)
    except (ValueError, FileNotFoundError) as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    print(json.dumps(counts))
    return 0
