"""What exists: the registered encoders, objectives and augmentations, with a summary."""

from __future__ import annotations

from typing import Any

from neurocl._core.validation import check_in

KINDS = ("encoders", "objectives", "augmentations")


def components(kind: str) -> list[dict[str, Any]]:
    """List the components of ``kind`` with their parameters and a one-line summary.

    Parameters
    ----------
    kind : {"encoders", "objectives", "augmentations"}
        Which registry (``views`` is accepted for augmentations).

    Returns
    -------
    list of dict
        ``name``, ``summary`` (first docstring line) and ``params`` (name -> default).
    """
    import inspect

    from neurocl.models import ENCODERS
    from neurocl.ssl import OBJECTIVES, VIEWS

    key = "augmentations" if kind.strip().lower() in ("views", "augment") else kind.strip().lower()
    registry = {"encoders": ENCODERS, "objectives": OBJECTIVES, "augmentations": VIEWS}[
        check_in(key, KINDS, "`neurocl list` WHAT")
    ]
    out = []
    for name in registry.names():
        cls = registry.get(name)
        doc = (inspect.getdoc(cls) or "").strip().splitlines()
        params = {
            p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "n_nodes"
        }
        if key == "augmentations":
            params.pop("fisher_z", None)
        summary = doc[0].replace("``", "") if doc else ""
        out.append({"name": name, "summary": summary, "params": params})
    return out
