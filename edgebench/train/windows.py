"""The monitor's samples taken while a run trained: inside one of its epochs' windows.

Set-up, validation-free gaps between attempts and downtime of a resumed run lie outside every
epoch, so neither power means nor clock checks see them. Board side: Python 3.8+.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def training_samples(hw: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Return the hw.csv rows taken inside an epoch's window (from its start to its end, both included)."""
    if hw.empty or epochs.empty or "timestamp" not in hw.columns:
        return hw.iloc[0:0]
    times = pd.to_datetime(hw["timestamp"], format="ISO8601", utc=True)
    inside = np.zeros(len(hw), dtype=bool)
    for row in epochs.itertuples():
        inside |= ((times >= pd.Timestamp(row.started_at)) & (times <= pd.Timestamp(row.ended_at))).to_numpy()
    return hw.loc[inside]
