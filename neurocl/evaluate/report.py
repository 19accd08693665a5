"""One self-contained HTML page for a run, dataset, analysis or demo folder.

The page embeds every table (CSV) and picture (PNG) found in the folder, the loss curves of
training runs, and the provenance of every input: dataset ``meta.json``, run
``config.json``, and the versions of the software that wrote the page.
"""

from __future__ import annotations

import base64
import html
import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from neurocl._core.errors import InputFileError, ParameterError
from neurocl.data.dataset import check_output_location

_MAX_ROWS = 60

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.4; }
h1 { border-bottom: 2px solid #2a6f97; padding-bottom: .2em; }
h2 { color: #2a6f97; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #eef4f8; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #555; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: 12px; }
.meta { color: #555; font-size: 13px; }
.scroll { overflow-x: auto; }
"""

_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-images-ok', ok ? 'yes' : 'no');
  document.body.setAttribute('data-table-rows', document.querySelectorAll('tbody tr').length);
});
"""


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("neurocl", "numpy", "pandas", "scikit-learn", "nilearn", "mne", "torch",
                 "torch-geometric"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def _table_html(frame: pd.DataFrame) -> str:
    shown = frame.head(_MAX_ROWS)
    body = shown.to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}", na_rep="")
    body = f'<div class="scroll">{body}</div>'
    if len(frame) > _MAX_ROWS:
        body += f'<p class="meta">{len(frame) - _MAX_ROWS} more rows in the CSV file.</p>'
    return body


def _is_detail(path: Path) -> bool:
    """Per-fold, per-prediction and null-distribution tables go below the summaries."""
    stem = path.stem
    return stem.startswith("predictions") or stem.endswith(("_folds", "_null", "_edges"))


def _table_order(path: Path) -> tuple[int, str]:
    order = ("probe", "ablation", "importance")
    rank = next((i for i, key in enumerate(order) if key in path.name), len(order))
    return rank, str(path)


def _read_csv(path: Path) -> pd.DataFrame | None:
    try:  # "None" is a network name, not a missing value
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except Exception:  # not a table after all
        return None


def _image_html(path: Path, root: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(str(path.relative_to(root)))
    return (f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{name}</figcaption></figure>")


def _json_block(path: Path, root: Path) -> str:
    try:
        text = json.dumps(json.loads(path.read_text()), indent=2)
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = path.read_text(errors="replace")
    name = html.escape(str(path.relative_to(root)))
    return f"<details><summary>{name}</summary><pre>{html.escape(text)}</pre></details>"


def _dataset_rows(folder: Path) -> list[dict[str, Any]]:
    from neurocl.data.dataset import load_dataset

    rows = []
    for meta in sorted(folder.rglob("meta.json")):
        try:
            summary = load_dataset(meta.parent).summary()
        except Exception:  # a damaged dataset is still listed under provenance
            continue
        rows.append({
            "dataset": str(meta.parent.relative_to(folder)) or ".",
            "modality": summary["modality"], "samples": summary["n_samples"],
            "subjects": summary["n_subjects"], "nodes": summary["n_nodes"],
            "kind": summary["kind"], "dynamic FC": summary["has_dynamic_fc"],
            "networks": ", ".join(f"{k} ({v})" for k, v in summary["networks"].items()),
            "command": summary["command"],
        })
    return rows


def write_report(folder: str | Path, out: str | Path | None = None,
                 title: str | None = None) -> Path:
    """Write one self-contained HTML report for ``folder``.

    Parameters
    ----------
    folder : str or Path
        A run, dataset, analysis or demo folder (searched recursively).
    out : str or Path, optional
        The HTML file (default ``folder/report.html``).
    title : str, optional
        Page title (default: the folder name).

    Returns
    -------
    Path
        The written HTML file.

    Raises
    ------
    InputFileError
        When ``folder`` does not exist or holds nothing to report.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError("not a folder; give a run, dataset or demo folder", folder)
    out = check_output_location(out) if out is not None else folder / "report.html"
    if out.is_dir():
        raise ParameterError(f"--out {out} is a folder; give the HTML file to write, e.g. "
                             f"{out / 'report.html'}")
    csvs = [p for p in folder.rglob("*.csv") if p.name != "history.csv"]
    detail = sorted(p for p in csvs if _is_detail(p))
    tables = sorted((p for p in csvs if not _is_detail(p)), key=_table_order)
    images = sorted(folder.rglob("*.png"))
    configs = sorted(folder.rglob("config.json"))
    metas = sorted(folder.rglob("meta.json"))
    histories = sorted(folder.rglob("history.csv"))
    if not (tables or images or configs or metas):
        raise InputFileError(
            "holds no dataset, run, table or picture to report; run neurocl commands with "
            "--out inside it first",
            folder,
        )
    parts = [f"<h1>{html.escape(title or 'neurocl report: ' + folder.name)}</h1>",
             f'<p class="meta">Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} '
             f"from <code>{html.escape(str(folder))}</code>.</p>"]
    datasets = _dataset_rows(folder)
    if datasets:
        parts.append("<h2>Datasets</h2>" + _table_html(pd.DataFrame(datasets)))
    if tables:
        parts.append("<h2>Tables</h2>")
        for path in tables:
            frame = _read_csv(path)
            if frame is not None:
                parts.append(f"<h3>{html.escape(str(path.relative_to(folder)))}</h3>"
                             + _table_html(frame))
    if detail:
        parts.append("<h2>Per-fold tables</h2>")
        for path in detail:
            frame = _read_csv(path)
            if frame is not None:
                parts.append(f"<details><summary>{html.escape(str(path.relative_to(folder)))} "
                             f"({len(frame)} rows)</summary>{_table_html(frame)}</details>")
    if histories:
        parts.append("<h2>Training runs</h2>")
        for hist in histories:
            run = hist.parent
            frame = pd.read_csv(hist)
            parts.append(f"<h3>{html.escape(str(run.relative_to(folder)) or '.')}</h3>")
            last = frame.tail(1).to_dict("records")[0] if len(frame) else {}
            parts.append('<p class="meta">' + html.escape(
                f"{len(frame)} epochs; last: " + ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in last.items())) + "</p>")
    if images:
        parts.append("<h2>Figures</h2>")
        parts.extend(_image_html(p, folder) for p in images)
    parts.append("<h2>Provenance</h2>")
    parts.append(_table_html(pd.DataFrame(
        [{"software": k, "version": v} for k, v in _versions().items()])))
    parts.extend(_json_block(p, folder) for p in [*metas, *configs])
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title or folder.name)}</title><style>{_STYLE}</style>"
            f"<script>{_SCRIPT}</script></head><body>" + "\n".join(parts) + "</body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
