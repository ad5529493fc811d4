"""mImgNet-style subset: N classes, K train / V val images per class, size-balanced draws.

Reading of the thesis (§4.1, Figures 4.2 and 4.3; the pseudocode is garbled):

* Classes (Fig. 4.2): N distinct class folders drawn at random; a draw that repeats an
  already chosen folder is redrawn, i.e. sampling without replacement. Here: from the seed,
  among the classes in stats.json; or a given list; or the thesis's ten ("thesis10").
* Zones (Fig. 4.3, lines 5-16): with the population's mean X and std sigma, a file is in zone
  D [X-2s, X-s), C [X-s, X), B [X, X+s) or A [X+s, X+2s). Files outside [X-2s, X+2s) are
  "rare cases" that are drawn again (line 17-18): they are never selected.
* Rounds (Fig. 4.3 loops "for i to 1000 / for j to N" and the text below Fig. 4.1): draw i
  takes one file for every class. The round's first class draws a random file; its zone
  becomes the zone of the round, and the other classes draw a random file from that same
  zone of their own folder ("the next draw for the subsequent folders must be in the same
  data size zone").
* Balance (lines 1, 7, 10, 13, 16 and the text): the pseudocode adds X - size for C/D and
  size - X for A/B, which would only ever grow; the text says A/B draws are added and C/D
  draws subtracted, so the balance is the signed sum of (size - X) over everything chosen,
  updated at the end of each round. It "restricts the zone of the next random draw": while
  the balance is positive the next round draws below the mean (C or D), while negative above
  it (A or B), at zero anywhere. So the subset's mean size tracks X.

Choices the thesis leaves open, made here: the first class of a round rotates over the
classes so no class always leads; a draw is uniform over the remaining files of the allowed
side (so a zone is picked in proportion to its remaining files); a class whose folder has no
file left in the round's zone takes one from the allowed side, then from any zone; a class
with fewer than K eligible files takes all of them and is reported as short. Train and val
are drawn separately, each against its own population's X and sigma.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from edgebench.atomic import write_json_atomic, write_text_atomic
from edgebench.data.demo import THESIS_WNIDS
from edgebench.data.manifest import MANIFEST_COLUMNS
from edgebench.data.scan import list_split, size_summary
from edgebench.data.zones import ZONE_LABELS, eligible_mask, zone_counts, zone_index
from edgebench.schema import section_defaults

DEFAULTS = section_defaults("dataset")["subset"]  # the config's dataset.subset defaults, written in the schema

CLASS_PRESETS = {"thesis10": THESIS_WNIDS}
METHODS = ("zones", "first")
# ZONE_LABELS indices of the eligible zones, by side of the mean.
_BELOW_MEAN = (ZONE_LABELS.index("D"), ZONE_LABELS.index("C"))
_ABOVE_MEAN = (ZONE_LABELS.index("B"), ZONE_LABELS.index("A"))
_ALL_ZONES = _BELOW_MEAN + _ABOVE_MEAN


def resolve_classes(classes, available, rng):
    """Return the sorted wnids asked for by a list, a preset name or a count drawn with `rng`."""
    available = sorted(available)
    if isinstance(classes, str):
        if classes not in CLASS_PRESETS:
            raise ValueError(f"classes={classes!r}: unknown preset (known: {sorted(CLASS_PRESETS)})")
        wanted = list(CLASS_PRESETS[classes])
    elif isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        if not 1 <= classes <= len(available):
            raise ValueError(f"classes={classes}: must be between 1 and {len(available)} (classes in the tree)")
        # Without replacement: Fig. 4.2 redraws a class already chosen.
        wanted = list(rng.choice(available, size=int(classes), replace=False))
    else:
        wanted = list(classes)
        if len(set(wanted)) != len(wanted):
            raise ValueError(f"classes: duplicate wnids in {wanted}")
        if not wanted:
            raise ValueError("classes: empty list")
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise ValueError(f"classes: {missing} not in the dataset's train folder")
    return sorted(str(w) for w in wanted)


class _ClassPool:
    """The eligible files of one class, by zone, in a seeded random order for popping."""

    def __init__(self, zones, rng):
        self.by_zone = {}
        for z in _ALL_ZONES:
            members = np.flatnonzero(zones == z)
            self.by_zone[z] = list(rng.permutation(members))

    def remaining(self, zone_set):
        return sum(len(self.by_zone[z]) for z in zone_set)

    def pop_from(self, zone_set, rng):
        """Pop a uniformly random remaining file among `zone_set`; return (index, zone) or None."""
        counts = np.array([len(self.by_zone[z]) for z in zone_set], dtype=float)
        if counts.sum() == 0:
            return None
        zone = zone_set[int(rng.choice(len(zone_set), p=counts / counts.sum()))]
        return self.by_zone[zone].pop(), zone


def zone_draw(class_sizes, k, mean, std, rng):
    """Return per class the indices chosen by the thesis's zone/balance rounds (see module doc)."""
    pools = [_ClassPool(zone_index(s, mean, std), rng) for s in class_sizes]
    chosen = [[] for _ in class_sizes]
    balance = 0.0
    n = len(class_sizes)
    for round_no in range(k):
        active = [c for c in range(n) if len(chosen[c]) < k and pools[c].remaining(_ALL_ZONES)]
        if not active:
            break
        side = _BELOW_MEAN if balance > 0 else _ABOVE_MEAN if balance < 0 else _ALL_ZONES
        # Rotate the leading class; the others follow in class order after it.
        start = round_no % n
        active.sort(key=lambda c: (c - start) % n)
        round_zone = None
        for c in active:
            pool = pools[c]
            if round_zone is not None and pool.by_zone[round_zone]:
                drawn = pool.pop_from((round_zone,), rng)
            elif pool.remaining(side):
                drawn = pool.pop_from(side, rng)
            else:
                drawn = pool.pop_from(_ALL_ZONES, rng)
            index, zone = drawn
            if round_zone is None:
                round_zone = zone
            chosen[c].append(int(index))
            balance += float(class_sizes[c][index]) - mean
    return chosen


def _first_draw(class_sizes, k, mean, std):
    # The simplest reproducible subset: the first K eligible files by name.
    result = []
    for sizes in class_sizes:
        eligible = np.flatnonzero(eligible_mask(sizes, mean, std))
        result.append([int(i) for i in eligible[:k]])
    return result


def _population(stats, split):
    overall = stats[split]["overall"]
    return float(overall["mean"]), float(overall["std"])


def _split_report(split, stats, k, files, chosen, mean, std):
    candidates = np.concatenate([sizes for _, sizes in files.values()]) if files else np.empty(0)
    eligible = candidates[eligible_mask(candidates, mean, std)]
    subset = np.concatenate([files[w][1][idx] for w, idx in chosen.items()]) if chosen else np.empty(0)
    report = {
        "asked_per_class": k,
        "population": {**{key: stats[split]["overall"][key] for key in ("count", "mean", "std")},
                       "zones": stats[split]["overall"].get("zones")},
        "candidates": {**size_summary(candidates), "zones": zone_counts(candidates, mean, std),
                       "note": "all files of the selected classes"},
        "subset": {**size_summary(subset), "zones": zone_counts(subset, mean, std)},
        "short_classes": {},
    }
    if subset.size:
        report["subset"]["mean_minus_population_mean"] = float(subset.mean() - mean)
        report["subset"]["mean_diff_in_population_std"] = float((subset.mean() - mean) / std) if std else 0.0
        try:  # scipy is not among the board side's needs (a board may prepare its own subset)
            from scipy import stats as scipy_stats
        except ImportError as error:
            scipy_stats, missing = None, f"scipy not installed: {error}"
        for name, other in (("candidates", candidates), ("eligible_candidates", eligible)):
            if scipy_stats is None:
                report[f"ks_vs_{name}"] = {"statistic": None, "pvalue": None, "unavailable": missing}
                continue
            ks = scipy_stats.ks_2samp(subset, other)
            report[f"ks_vs_{name}"] = {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)}
    for wnid, (_, sizes) in files.items():
        n_eligible = int(eligible_mask(sizes, mean, std).sum())
        if n_eligible < k:
            report["short_classes"][wnid] = {"asked": k, "eligible": n_eligible,
                                             "files": int(sizes.size), "taken": len(chosen.get(wnid, []))}
    return report


def select_subset(root, stats, *, classes=DEFAULTS["classes"], train_per_class=DEFAULTS["train_per_class"],
                  val_per_class=DEFAULTS["val_per_class"], seed=DEFAULTS["seed"], method="zones", workers=None):
    """Return (manifest DataFrame with columns split, wnid, label, path, bytes; report dict)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {METHODS}")
    if not isinstance(stats, dict):
        stats = json.loads(Path(stats).read_text())
    root = Path(root)
    class_seq, train_seq, val_seq = np.random.SeedSequence(seed).spawn(3)
    wnids = resolve_classes(classes, stats["train"]["classes"], np.random.default_rng(class_seq))
    label_of = {w: i for i, w in enumerate(wnids)}

    rows = []
    report = {"root": str(root), "seed": seed, "method": method, "classes": wnids, "splits": {}}
    for split, k, seq in (("train", train_per_class, train_seq), ("val", val_per_class, val_seq)):
        if k <= 0:
            continue
        if split not in stats:
            report["splits"][split] = {"asked_per_class": k, "missing": f"no {split} folder in {root}"}
            continue
        mean, std = _population(stats, split)
        files, _ = list_split(root, split, workers=workers, classes=wnids,
                              val_labels=stats[split].get("labels_file"))
        absent = [w for w in wnids if w not in files]
        for w in absent:
            files[w] = ([], np.empty(0, dtype=np.int64))
        files = {w: files[w] for w in wnids}
        class_sizes = [files[w][1] for w in wnids]
        if method == "zones":
            picks = zone_draw(class_sizes, k, mean, std, np.random.default_rng(seq))
        else:
            picks = _first_draw(class_sizes, k, mean, std)
        chosen = {w: np.array(sorted(p), dtype=np.int64) for w, p in zip(wnids, picks)}
        for wnid, idx in chosen.items():
            paths, sizes = files[wnid]
            for i in idx:
                rows.append((split, wnid, label_of[wnid], paths[i], int(sizes[i])))
        report["splits"][split] = _split_report(split, stats, k, files, chosen, mean, std)
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    if manifest.empty:
        raise ValueError(f"{root}: the subset is empty (no eligible files in classes {wnids})")
    if manifest["path"].duplicated().any():  # a broken invariant, not bad input
        raise AssertionError("subset selection produced duplicate paths")
    report["short_classes_count"] = sum(len(s.get("short_classes", {})) for s in report["splits"].values())
    return manifest, report


def write_subset(root, stats_path, manifest_path, report_path, **options):
    """Select the subset, write manifest.csv and the report JSON atomically; return the report."""
    manifest, report = select_subset(root, json.loads(Path(stats_path).read_text()), **options)
    write_text_atomic(manifest_path, manifest.to_csv(index=False))
    write_json_atomic(report_path, report)
    return report


def _parse_classes(text):
    if text in CLASS_PRESETS:
        return text
    if text.isdigit():
        return int(text)
    return [w.strip() for w in text.split(",") if w.strip()]


def cli(argv) -> int:
    """`edgebench dataset subset ROOT STATS MANIFEST REPORT`: write the subset; return an exit code."""
    parser = argparse.ArgumentParser(prog="edgebench dataset subset", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the ILSVRC tree that stats.json describes")
    parser.add_argument("stats", help="stats.json from `edgebench dataset scan`")
    parser.add_argument("manifest", help="manifest.csv to write")
    parser.add_argument("report", help="subset_report.json to write")
    # type= parses what the user types; argparse leaves a non-string default (a list) as it is.
    parser.add_argument("--classes", type=_parse_classes, default=DEFAULTS["classes"],
                        help="preset name (thesis10), a count N drawn from the seed, or comma-separated wnids "
                             "(default: %(default)s)")
    parser.add_argument("--train-per-class", type=int, default=DEFAULTS["train_per_class"],
                        help="train images per class (default: %(default)s)")
    parser.add_argument("--val-per-class", type=int, default=DEFAULTS["val_per_class"],
                        help="val images per class (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help="seed of the class and file draws (default: %(default)s)")
    parser.add_argument("--method", choices=METHODS, default="zones",
                        help="zones: the thesis's size-balanced draws; first: the first eligible files by name "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        report = write_subset(args.root, args.stats, args.manifest, args.report,
                              classes=args.classes, train_per_class=args.train_per_class,
                              val_per_class=args.val_per_class, seed=args.seed, method=args.method)
    except (ValueError, FileNotFoundError) as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    for split, info in report["splits"].items():
        for wnid, short in info.get("short_classes", {}).items():
            print(f"short class {split}/{wnid}: asked {short['asked']}, eligible {short['eligible']}",
                  file=sys.stderr)
    return 0
