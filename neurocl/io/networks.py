"""Canonical functional-network names and node tables.

Yeo-7 networks have one canonical spelling (``Visual``, ``Somatomotor``, ``DorsalAttention``,
``VentralAttention``, ``Limbic``, ``Frontoparietal``, ``Default``); the usual aliases of the
Schaefer tables (``Vis``, ``SomMot``, ``DorsAttn``, ``SalVentAttn``, ``Cont``) and of the
long Yeo names (``VentralAttention_Salience``) are accepted on input. Names of other atlases
are kept as they are. Nodes without a network get ``"None"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurocl._core.errors import InputFileError

YEO7 = (
    "Visual",
    "Somatomotor",
    "DorsalAttention",
    "VentralAttention",
    "Limbic",
    "Frontoparietal",
    "Default",
)

NO_NETWORK = "None"

_ALIASES = {
    "vis": "Visual",
    "visual": "Visual",
    "somatomotor": "Somatomotor",
    "sommot": "Somatomotor",
    "smn": "Somatomotor",
    "dorsattn": "DorsalAttention",
    "dorsalattention": "DorsalAttention",
    "dan": "DorsalAttention",
    "salventattn": "VentralAttention",
    "ventralattention": "VentralAttention",
    "ventralattentionsalience": "VentralAttention",
    "salience": "VentralAttention",
    "van": "VentralAttention",
    "limbic": "Limbic",
    "lim": "Limbic",
    "cont": "Frontoparietal",
    "control": "Frontoparietal",
    "frontoparietal": "Frontoparietal",
    "fpn": "Frontoparietal",
    "default": "Default",
    "defaultmode": "Default",
    "dmn": "Default",
}

_MISSING = {"", "none", "nan", "na", "n/a", "null", "-", "unknown"}


def canonical_network(name: object) -> str:
    """Return the canonical network name for ``name``.

    Parameters
    ----------
    name : object
        A network label as found in a table (``"SalVentAttn"``, ``"Default"``, ``None``).

    Returns
    -------
    str
        The canonical Yeo-7 name when ``name`` is one of its aliases, ``"None"`` for a
        missing label, and ``name`` unchanged (as a string) otherwise.

    Examples
    --------
    >>> canonical_network("SalVentAttn")
    'VentralAttention'
    >>> canonical_network("VentralAttention_Salience")
    'VentralAttention'
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return NO_NETWORK
    text = str(name).strip()
    if text.lower() in _MISSING:
        return NO_NETWORK
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    return _ALIASES.get(key, text)


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    if wanted is not None:
        return wanted if wanted in columns else None
    lower = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def read_node_table(
    path: str | Path,
    *,
    name_column: str | None = None,
    network_column: str | None = None,
) -> pd.DataFrame:
    """Read a node table (one row per node, in node order) and canonicalise its networks.

    Parameters
    ----------
    path : str or Path
        TSV or CSV with a name column and a network column; centroid columns (``x``, ``y``,
        ``z`` or ``x_mm``, ``y_mm``, ``z_mm``) are used when present.
    name_column, network_column : str, optional
        Column names when they are not ``name``/``network`` (or a known variant such as
        ``roi_name``, ``label``, ``yeo7_network``).

    Returns
    -------
    DataFrame
        Columns ``name``, ``network``, ``x``, ``y``, ``z`` (NaN where unknown).

    Raises
    ------
    InputFileError
        When the file cannot be read or lacks the name or network column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("file not found; give the path of a node/network table", path)
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        table = pd.read_csv(path, sep=sep, keep_default_na=False, dtype=str)
    except Exception as exc:  # pandas raises many types
        raise InputFileError(f"cannot read the table ({exc})", path) from exc
    columns = list(table.columns)
    name_col = _pick(columns, name_column, ("name", "roi_name", "label", "region", "node"))
    net_col = _pick(
        columns, network_column, ("network", "yeo7_network", "networks", "net", "community")
    )
    if name_col is None:
        raise InputFileError(
            f"no name column {name_column or 'name'!r} among {columns}; "
            "pass --name-column to say which column holds node names",
            path,
        )
    if net_col is None:
        raise InputFileError(
            f"no network column {network_column or 'network'!r} among {columns}; "
            "pass --network-column to say which column holds networks",
            path,
        )
    nodes = pd.DataFrame(
        {
            "name": table[name_col].astype(str).str.strip().to_numpy(),
            "network": [canonical_network(v) for v in table[net_col]],
        }
    )
    for axis in ("x", "y", "z"):
        col = _pick(columns, None, (axis, f"{axis}_mm", f"{axis}.mni", f"mni_{axis}"))
        if col is None:
            nodes[axis] = np.nan
        else:
            nodes[axis] = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
    return nodes


def default_nodes(n_nodes: int) -> pd.DataFrame:
    """Return a node table with names ``node-000`` ... and no networks or coordinates."""
    width = max(3, len(str(n_nodes - 1)))
    return pd.DataFrame(
        {
            "name": [f"node-{i:0{width}d}" for i in range(n_nodes)],
            "network": [NO_NETWORK] * n_nodes,
            "x": np.nan,
            "y": np.nan,
            "z": np.nan,
        }
    )
