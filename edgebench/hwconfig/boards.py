"""Board descriptions: the named core groups, GPU, monitor and power rails of a board.

One YAML file per board under resources/boards/, chosen by the config key `board` (a bundled
name, or the path of a file of one's own). The directory was resources/profiles/ and the key
`device_profile` before; both old spellings are still accepted. Board side: Python 3.8+.
"""

from __future__ import annotations

from pathlib import Path

import yaml

BOARDS_DIR = Path(__file__).resolve().parents[2] / "resources" / "boards"
OLD_BOARDS_DIR = "resources/profiles"  # configs written before the rename still name files there


def available_boards() -> list[str]:
    """Return the names of the bundled board descriptions."""
    return sorted(p.stem for p in BOARDS_DIR.glob("*.yaml"))


def board_path(name_or_path) -> Path:
    """Return the YAML file of a bundled board's name, or the given path if it is a file."""
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith((".yaml", ".yml")) or path.is_file()):
        path = BOARDS_DIR / f"{text}.yaml"
        if not path.is_file():  # a user's own description, by name, left in the old directory
            path = BOARDS_DIR.parent / Path(OLD_BOARDS_DIR).name / f"{text}.yaml"
    elif not path.is_file() and path.parent.as_posix().endswith(OLD_BOARDS_DIR):
        path = BOARDS_DIR / path.name  # a bundled board named by its old path
    if not path.is_file():
        raise FileNotFoundError(
            f"board {text!r} not found (bundled boards: {', '.join(available_boards())}; "
            "or give the path of a .yaml file)"
        )
    return path


def load_board(name_or_path) -> dict:
    """Return a board description as a dict (name, description, cores, gpu, monitor, power)."""
    path = board_path(name_or_path)
    with open(path, encoding="utf-8") as fh:
        board = yaml.safe_load(fh)
    if not isinstance(board, dict) or "name" not in board:
        raise ValueError(f"board description {path}: not a mapping with a 'name'")
    # What a description may leave out; nothing else supplies these defaults.
    board.setdefault("cores", {})
    board.setdefault("gpu", None)
    board.setdefault("monitor", "host")
    board.setdefault("power", {})
    return board
