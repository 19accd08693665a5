"""EEG recordings: reading through MNE, channel names and positions, scalp regions, epochs.

Files: EDF/BDF (``.edf``, ``.bdf``), FIF (``.fif``, ``.fif.gz``; raw or ``-epo.fif`` epochs),
BrainVision (``.vhdr``), EEGLAB (``.set``, continuous or epoched) and a plain ``.npz`` with
``data`` (epochs, channels, samples), ``sfreq``, ``ch_names`` and optional ``labels`` (one per
epoch) and ``tmin`` (time of the first sample, default 0).

Channel names are matched case-insensitively to MNE's standard 10-05 montage after removing
padding dots and spaces, an ``EEG`` prefix and a reference suffix (PhysioNet's ``Fc5.`` becomes
``FC5``, ``EEG Cz-REF`` becomes ``Cz``). Positions come from that montage (offline, shipped
with MNE), in millimetres.

Every channel gets a scalp region from its 10-05 name, used as the node ``network``:
``Frontal`` (Fp, AF, F and their 10-05 neighbours AFp, AFF, FFC), ``Central`` (FC, FCC, C, CCP,
CP), ``Parietal`` (CPP, P, PPO), ``Occipital`` (PO, POO, O, OI, I) and ``Temporal`` (FT, FTT,
T, TTP, TP, TPP, and the mastoid/ear sites M1, M2, A1, A2); and a ``hemisphere``: odd numbers
``left``, even numbers ``right``, ``z`` sites ``midline``. With ``networks="region-hemisphere"``
the network is ``Central-Left``, ``Central-Midline``, ... instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurocl._core.errors import InputFileError, ParameterError

SUFFIXES = {
    ".edf": "EDF",
    ".bdf": "BDF",
    ".fif": "FIF",
    ".fif.gz": "FIF",
    ".vhdr": "BrainVision",
    ".set": "EEGLAB",
    ".npz": "NumPy epochs",
}

REGIONS = ("Frontal", "Central", "Parietal", "Temporal", "Occipital")
HEMISPHERES = ("left", "right", "midline")
NETWORK_SCHEMES = ("region", "region-hemisphere")

_PREFIX_REGION = {
    "Fp": "Frontal", "AFp": "Frontal", "AF": "Frontal", "AFF": "Frontal", "F": "Frontal",
    "FFC": "Frontal",
    "FC": "Central", "FCC": "Central", "C": "Central", "CCP": "Central", "CP": "Central",
    "CPP": "Parietal", "P": "Parietal", "PPO": "Parietal",
    "PO": "Occipital", "POO": "Occipital", "O": "Occipital", "OI": "Occipital", "I": "Occipital",
    "FT": "Temporal", "FFT": "Temporal", "FTT": "Temporal", "T": "Temporal", "TTP": "Temporal",
    "TP": "Temporal", "TPP": "Temporal", "M": "Temporal", "A": "Temporal",
}
_SITE = re.compile(r"^([A-Za-z]+?)(z|\d+)(h?)$")


@functools.lru_cache(maxsize=1)
def _montage_positions() -> tuple[str, dict[str, np.ndarray]]:
    """Name and channel positions (metres) of MNE's standard 10-05 montage."""
    import warnings

    import mne

    for name in ("colin27_1005", "standard_1005"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                montage = mne.channels.make_standard_montage(name)
        except ValueError:
            continue
        return name, dict(montage.get_positions()["ch_pos"])
    raise RuntimeError("MNE ships no standard 10-05 montage")  # pragma: no cover


@functools.lru_cache(maxsize=1)
def _montage_lookup() -> dict[str, str]:
    return {name.lower(): name for name in _montage_positions()[1]}


def normalize_channel_name(name: str) -> str | None:
    """Return the standard 10-05 name of an EEG channel, or None when it has none.

    Examples
    --------
    >>> normalize_channel_name("Fc5.")
    'FC5'
    >>> normalize_channel_name("EEG Cz-REF")
    'Cz'
    >>> normalize_channel_name("EOG1") is None
    True
    """
    text = str(name).strip().strip(".").strip()
    text = re.sub(r"^(eeg)[\s_-]*", "", text, flags=re.I)
    text = re.sub(r"[\s_-]+(ref|le|re|avg|ar|m1|m2|a1|a2)$", "", text, flags=re.I) or text
    text = text.strip(". ")
    return _montage_lookup().get(text.lower())


def channel_region(name: str) -> tuple[str, str]:
    """Scalp region and hemisphere of a standard 10-05 channel name.

    Returns
    -------
    region : str
        One of :data:`REGIONS`.
    hemisphere : str
        ``left``, ``right`` or ``midline``.
    """
    m = _SITE.match(name)
    if m is None:
        raise ParameterError(f"channel {name!r} is not a 10-05 name; cannot assign a region")
    prefix, site = m.group(1), m.group(2)
    key = next((k for k in (prefix, prefix.capitalize(), prefix.upper()) if k in _PREFIX_REGION),
               None)
    if key is None:
        raise ParameterError(f"channel {name!r} has an unknown 10-05 prefix {prefix!r}")
    region = _PREFIX_REGION[key]
    if site.lower() == "z":
        return region, "midline"
    return region, "left" if int(site) % 2 else "right"


def channel_table(names: Sequence[str], networks: str = "region") -> pd.DataFrame:
    """Node table for standard channel names: name, network, x, y, z (mm), region, hemisphere.

    Parameters
    ----------
    names : sequence of str
        Standard 10-05 names (see :func:`normalize_channel_name`).
    networks : {"region", "region-hemisphere"}
        What the ``network`` column holds: the region (``Central``) or region and hemisphere
        (``Central-Left``).
    """
    if networks not in NETWORK_SCHEMES:
        raise ParameterError(
            f"networks must be one of {', '.join(NETWORK_SCHEMES)}; got {networks!r}"
        )
    positions = _montage_positions()[1]
    rows = []
    for name in names:
        region, hemi = channel_region(name)
        xyz = np.asarray(positions[name], dtype=float) * 1000.0
        network = region if networks == "region" else f"{region}-{hemi.capitalize()}"
        rows.append({"name": name, "network": network, "x": xyz[0], "y": xyz[1], "z": xyz[2],
                     "region": region, "hemisphere": hemi})
    return pd.DataFrame(rows, columns=["name", "network", "x", "y", "z", "region", "hemisphere"])


def montage_name() -> str:
    """Name of the MNE montage that positions come from."""
    return _montage_positions()[0]


def parse_events(spec: str | Mapping[str, str] | Sequence[str] | None) -> dict[str, str] | None:
    """Parse an event mapping: ``"T1=left,T2=right"`` -> ``{"T1": "left", "T2": "right"}``.

    A code without ``=`` keeps its own name as label (``"T0"`` -> ``{"T0": "T0"}``).
    """
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        mapping = {str(k): str(v) for k, v in spec.items()}
    else:
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        mapping = {}
        for item in (str(i).strip() for i in items):
            if not item:
                continue
            code, _, label = item.partition("=")
            code, label = code.strip(), (label.strip() or code.strip())
            if not code:
                raise ParameterError(f"events item {item!r} has no code; write CODE=LABEL")
            if code in mapping:
                raise ParameterError(f"event code {code!r} is given twice in events")
            mapping[code] = label
    if not mapping:
        raise ParameterError("events is empty; write e.g. T1=left,T2=right")
    return mapping


def file_entities(path: str | Path) -> dict[str, Any]:
    """Subject, session and run from a file name (PhysioNet ``S001R04``, BIDS ``sub-01_run-2``).

    Falls back to the file stem as subject and no run.
    """
    stem = _stem(Path(path))
    m = re.match(r"^S(\d{3,})R(\d{1,})$", stem, flags=re.I)
    if m:
        return {"subject_id": f"S{m.group(1)}", "session": None, "run": int(m.group(2))}
    ents = dict(re.findall(r"(sub|ses|run)-([A-Za-z0-9]+)", stem))
    if "sub" in ents:
        run: Any = ents.get("run")
        if run is not None and run.isdigit():
            run = int(run)
        return {"subject_id": f"sub-{ents['sub']}", "session": ents.get("ses"), "run": run}
    return {"subject_id": stem, "session": None, "run": None}


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise InputFileError(
        f"unknown EEG file type {''.join(path.suffixes) or '(no extension)'!r}; give "
        f"{', '.join(sorted(set(SUFFIXES)))} files",
        path,
    )


@dataclass
class EEGEpochs:
    """Epochs of one recording, ready for connectivity.

    Attributes
    ----------
    data : ndarray of shape (n_epochs, n_channels, n_times)
        Preprocessed signals (volts for MNE files; as stored for ``.npz``).
    sfreq : float
        Sampling frequency after resampling.
    ch_names : list of str
        Standard 10-05 channel names.
    labels : list of str or None
        One label per epoch (event label, or the ``.npz`` labels), None for fixed windows.
    onsets : ndarray of shape (n_epochs,)
        Onset of each epoch's event (or window start) in seconds from the recording start.
    source : Path
        The file.
    dropped_channels : list of str
        Channels without a known position that were dropped (as named in the file).
    """

    data: np.ndarray
    sfreq: float
    ch_names: list[str]
    labels: list[str] | None
    onsets: np.ndarray
    source: Path
    dropped_channels: list[str] = field(default_factory=list)


def read_epochs(
    path: str | Path,
    *,
    events: str | Mapping[str, str] | None = None,
    tmin: float = 0.0,
    tmax: float | None = None,
    baseline: tuple[float | None, float | None] | None = None,
    fixed_length: float | None = None,
    l_freq: float | None = 1.0,
    h_freq: float | None = None,
    notch: float | Sequence[float] | None = None,
    reference: str | None = None,
    resample: float | None = None,
    channels: Sequence[str] | None = None,
    drop_unknown_channels: bool = False,
) -> EEGEpochs:
    """Read one EEG file and cut it into preprocessed epochs.

    Continuous recordings are filtered (notch, then band-pass ``l_freq``-``h_freq``),
    re-referenced, resampled, then epoched from annotations (``events``, ``tmin``, ``tmax``)
    or in consecutive windows of ``fixed_length`` seconds; an optional ``baseline``
    ``(start, end)`` in seconds (None = epoch edge) is subtracted. Epoched inputs (``.npz``,
    ``-epo.fif``, epoched ``.set``) get the same steps, per epoch, and are cropped to
    ``[tmin, tmax]`` when given.

    Parameters
    ----------
    path : str or Path
        The recording.
    events : str or mapping, optional
        Annotation codes to keep and their labels (``"T1=left,T2=right"``); for epoched
        inputs, the labels to keep and rename.
    tmin, tmax : float
        Epoch window in seconds relative to each event (``tmax`` required with ``events``).
    baseline : (float or None, float or None), optional
        Baseline interval subtracted from each epoch.
    fixed_length : float, optional
        Window length in seconds for recordings without events (resting state).
    l_freq, h_freq : float, optional
        Band-pass edges in Hz (None: no high-pass / low-pass). Default high-pass 1 Hz.
    notch : float or sequence of float, optional
        Line-noise frequencies to notch out (e.g. 50 or 60).
    reference : {"average"}, optional
        Re-reference to the average of all EEG channels.
    resample : float, optional
        New sampling frequency in Hz.
    channels : sequence of str, optional
        Keep only these channels (standard or file names), in this order.
    drop_unknown_channels : bool
        Drop EEG channels without a standard 10-05 position instead of failing.

    Returns
    -------
    EEGEpochs

    Raises
    ------
    InputFileError
        Unknown file type, unreadable file, an event code absent from the file, channels
        without known positions, a window past the end of the recording.
    ParameterError
        Inconsistent epoching options.
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise InputFileError("file not found; check the path", path)
    mapping = parse_events(events)
    _check_epoching(mapping, tmin, tmax, fixed_length)
    if suffix == ".npz":
        data, sfreq, names, labels, t0 = _read_npz(path)
        return _from_epoch_array(path, data, sfreq, names, labels, t0, mapping=mapping, tmin=tmin,
                                 tmax=tmax, baseline=baseline, fixed_length=fixed_length,
                                 l_freq=l_freq, h_freq=h_freq, notch=notch, reference=reference,
                                 resample=resample, channels=channels,
                                 drop_unknown_channels=drop_unknown_channels)
    inst = _read_mne(path, suffix)
    import mne

    if isinstance(inst, mne.BaseEpochs):
        inv = {v: k for k, v in inst.event_id.items()}
        labels = [inv[c] for c in inst.events[:, 2]]
        if suffix == ".set":
            # MNE names an EEGLAB epoch holding several events "first/second/..." and keeps
            # the first one's latency: that event is the epoch's
            labels = [lab.split("/", 1)[0] for lab in labels]
        picks = mne.pick_types(inst.info, eeg=True, exclude=[])
        data = inst.get_data(picks=picks)
        names = [inst.ch_names[i] for i in picks]
        return _from_epoch_array(path, data, inst.info["sfreq"], names, labels, inst.tmin,
                                 mapping=mapping, tmin=tmin, tmax=tmax, baseline=baseline,
                                 fixed_length=fixed_length, l_freq=l_freq, h_freq=h_freq,
                                 notch=notch, reference=reference, resample=resample,
                                 channels=channels, drop_unknown_channels=drop_unknown_channels)
    raw = inst
    if mapping is None and fixed_length is None:
        raise ParameterError(
            f"{path.name} is a continuous recording: cut it with --events CODE=LABEL,... and "
            "--tmax, or with --fixed-length SECONDS"
        )
    if mapping is not None and tmax is None:
        raise ParameterError("--events needs --tmax (end of each epoch, in seconds)")
    raw.pick(mne.pick_types(raw.info, eeg=True, exclude=[]))
    if not raw.ch_names:
        raise InputFileError("holds no EEG channels", path)
    names, dropped = _standard_names(path, raw.ch_names, drop_unknown_channels)
    if dropped:
        raw.drop_channels(dropped)
    raw.rename_channels(dict(zip(raw.ch_names, names, strict=True)))
    if raw.n_times == 0:
        raise InputFileError("holds no samples; copy or export the recording again", path)
    try:
        raw.load_data(verbose="error")
    except Exception as exc:  # MNE raises many types for damaged data blocks
        raise InputFileError(
            f"cannot read the signals ({type(exc).__name__}: {exc}); the file is damaged: copy "
            "or export the recording again",
            path,
        ) from exc
    _check_filters(path, raw.info["sfreq"], l_freq, h_freq, notch)
    if notch is not None:
        raw.notch_filter(np.atleast_1d(notch).astype(float), verbose="error")
    if l_freq is not None or h_freq is not None:
        raw.filter(l_freq, h_freq, verbose="error")
    if reference is not None:
        _check_reference(reference)
        raw.set_eeg_reference("average", projection=False, verbose="error")
    if channels is not None:
        raw.pick(_select_channels(path, raw.ch_names, channels))
    if resample is not None:
        raw.resample(float(resample), verbose="error")
    sfreq = float(raw.info["sfreq"])
    if fixed_length is not None:
        duration = raw.n_times / sfreq
        if fixed_length > duration:
            raise InputFileError(
                f"--fixed-length {fixed_length:g} s is longer than the recording "
                f"({duration:.2f} s); use shorter windows",
                path,
            )
        epochs = mne.make_fixed_length_epochs(raw, duration=fixed_length, preload=True,
                                              reject_by_annotation=False, verbose="error")
        data = epochs.get_data()[..., : int(round(fixed_length * sfreq))]
        onsets = epochs.events[:, 0] / sfreq - raw.first_time
        data = _baseline(data, sfreq, 0.0, baseline, path)
        return EEGEpochs(data, sfreq, list(raw.ch_names), None, onsets, path, dropped)
    assert mapping is not None and tmax is not None  # checked above
    present = sorted(set(raw.annotations.description))
    mapping = _match_codes(mapping, present, path)
    absent = [c for c in mapping if c not in present]
    if absent:
        raise InputFileError(
            f"event code{'s' if len(absent) > 1 else ''} {', '.join(absent)} not found; the "
            f"file's annotations are {', '.join(present) or '(none)'}",
            path,
        )
    _check_durations(path, raw, mapping, tmax)
    codes = {code: i + 1 for i, code in enumerate(mapping)}
    ev, _ = mne.events_from_annotations(raw, event_id=codes, verbose="error")
    last = raw.first_samp + raw.n_times - 1
    stop = ev[:, 0] + int(round(tmax * sfreq))
    start = ev[:, 0] + int(round(tmin * sfreq))
    if (stop > last).any() or (start < raw.first_samp).any():
        bad = int(((stop > last) | (start < raw.first_samp)).sum())
        raise InputFileError(
            f"the window {tmin:g} to {tmax:g} s runs past the recording for {bad} of {len(ev)} "
            f"events (it lasts {raw.n_times / sfreq:.2f} s); shorten --tmin/--tmax",
            path,
        )
    epochs = mne.Epochs(raw, ev, codes, tmin=tmin, tmax=tmax, baseline=None, preload=True,
                        reject_by_annotation=False, verbose="error")
    data = epochs.get_data()
    inv = {v: mapping[k] for k, v in codes.items()}
    labels = [inv[c] for c in epochs.events[:, 2]]
    onsets = (epochs.events[:, 0] - raw.first_samp) / sfreq
    data = _baseline(data, sfreq, tmin, baseline, path)
    return EEGEpochs(data, sfreq, list(raw.ch_names), labels, onsets, path, dropped)


def _check_epoching(mapping: Any, tmin: float, tmax: float | None,
                    fixed_length: float | None) -> None:
    if mapping is not None and fixed_length is not None:
        raise ParameterError("give either --events or --fixed-length, not both")
    if fixed_length is not None and (tmax is not None or tmin != 0):
        raise ParameterError("--tmin/--tmax cut event epochs; drop them with --fixed-length")
    if fixed_length is not None and not fixed_length > 0:
        raise ParameterError(f"--fixed-length must be > 0 seconds; got {fixed_length!r}")
    if tmax is not None and tmax <= tmin:
        raise ParameterError(f"--tmax ({tmax:g}) must be greater than --tmin ({tmin:g})")


def _check_reference(reference: str) -> None:
    if reference != "average":
        raise ParameterError(f"reference must be 'average'; got {reference!r}")


def _check_filters(path: Path, sfreq: float, l_freq: float | None, h_freq: float | None,
                   notch: Any) -> None:
    nyq = sfreq / 2.0
    if h_freq is not None and h_freq >= nyq:
        raise ParameterError(
            f"--h-freq {h_freq:g} Hz is not below Nyquist ({nyq:g} Hz) of {path.name}; lower it"
        )
    if l_freq is not None and h_freq is not None and l_freq >= h_freq:
        raise ParameterError(f"--l-freq ({l_freq:g}) must be below --h-freq ({h_freq:g})")
    if notch is not None and (np.atleast_1d(notch) >= nyq).any():
        raise ParameterError(
            f"--notch {notch} Hz is not below Nyquist ({nyq:g} Hz) of {path.name}; drop it"
        )


def _short_code(description: str) -> str:
    """``Stimulus/S  1`` -> ``S1``, ``Comment/T1`` -> ``T1``: the marker without its type."""
    return re.sub(r"\s+", "", description.rsplit("/", 1)[-1])


def _match_codes(mapping: Mapping[str, str], present: Sequence[str],
                 path: Path) -> dict[str, str]:
    """Map each event code to the annotation it names, exactly or without the marker type.

    BrainVision markers are read by MNE as ``Stimulus/S  1`` or ``Comment/T1``; ``--events
    S1=left`` or ``T1=left`` name them. A code that matches several annotations is refused.
    """
    out: dict[str, str] = {}
    for code, label in mapping.items():
        if code in present:
            out[code] = label
            continue
        hits = [d for d in present if "/" in d and _short_code(d) == re.sub(r"\s+", "", code)]
        if len(hits) > 1:
            raise InputFileError(
                f"event code {code} matches the annotations {', '.join(hits)}; give the full "
                "annotation in --events",
                path,
            )
        out[hits[0] if hits else code] = label
    return out


def _check_durations(path: Path, raw: Any, mapping: Mapping[str, str], tmax: float) -> None:
    """Refuse a tmax beyond the annotated duration of the events (when they have one)."""
    ann = raw.annotations
    sfreq = raw.info["sfreq"]
    for code in mapping:
        durations = ann.duration[ann.description == code]
        if len(durations) and (durations > 1.0 / sfreq).all() and tmax > durations.min() + 1e-9:
            raise InputFileError(
                f"--tmax {tmax:g} s runs past the end of the {code!r} events (the shortest "
                f"lasts {durations.min():g} s); lower --tmax",
                path,
            )


def _baseline(data: np.ndarray, sfreq: float, t0: float, baseline: Any, path: Path) -> np.ndarray:
    if baseline is None:
        return data
    start, end = baseline
    n = data.shape[-1]
    times = t0 + np.arange(n) / sfreq
    lo = times[0] if start is None else start
    hi = times[-1] if end is None else end
    sel = (times >= lo - 1e-9) & (times <= hi + 1e-9)
    if lo > hi or not sel.any() or lo < times[0] - 1e-9 or hi > times[-1] + 1e-9:
        raise ParameterError(
            f"--baseline {start}..{end} s lies outside the epochs ({times[0]:g} to "
            f"{times[-1]:g} s) of {path.name}; choose an interval inside them"
        )
    return data - data[..., sel].mean(axis=-1, keepdims=True)


def _read_mne(path: Path, suffix: str) -> Any:
    import mne

    if suffix in (".edf", ".bdf"):
        _check_edf_size(path, 3 if suffix == ".bdf" else 2)
    try:
        if suffix in (".fif", ".fif.gz"):
            if re.search(r"[-_]epo\.fif(\.gz)?$", path.name):
                return mne.read_epochs(path, preload=True, verbose="error")
            return mne.io.read_raw_fif(path, preload=False, verbose="error")
        if suffix == ".edf":
            return mne.io.read_raw_edf(path, preload=False, verbose="error")
        if suffix == ".bdf":
            return mne.io.read_raw_bdf(path, preload=False, verbose="error")
        if suffix == ".vhdr":
            return mne.io.read_raw_brainvision(path, preload=False, verbose="error")
        try:
            return mne.io.read_raw_eeglab(path, preload=False, verbose="error")
        except (TypeError, ValueError) as exc:
            if "epoch" not in str(exc).lower() and "trial" not in str(exc).lower():
                raise
            return mne.read_epochs_eeglab(path, verbose="error")
    except InputFileError:
        raise
    except Exception as exc:  # MNE raises many types for unreadable files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(
            f"cannot read it as {SUFFIXES[suffix]} ({first}); check that the file is complete",
            path,
        ) from exc


def _check_edf_size(path: Path, width: int) -> None:
    """Refuse an EDF/BDF file shorter than its header says (a copy or transfer cut short).

    MNE reads such a file as a shorter recording; an unknown record count (-1, a recording
    still running) or a header that cannot be parsed is left to MNE.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(256)
        try:
            n_records = int(head[236:244].decode("ascii").strip())
            n_signals = int(head[252:256].decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return
        if n_signals <= 0 or n_records <= 0:
            return
        header_bytes = 256 * (n_signals + 1)
        if size < header_bytes:
            raise InputFileError(
                f"is cut short inside its header ({size} of {header_bytes} bytes); copy or "
                "export the recording again",
                path,
            )
        f.seek(256 + 216 * n_signals)
        counts = f.read(8 * n_signals)
    try:
        per_record = sum(int(counts[8 * i : 8 * i + 8].decode("ascii").strip())
                         for i in range(n_signals))
    except (UnicodeDecodeError, ValueError):
        return
    record_bytes = per_record * width
    if record_bytes > 0 and size < header_bytes + n_records * record_bytes:
        complete = (size - header_bytes) // record_bytes
        raise InputFileError(
            f"holds {complete} of the {n_records} data records its header announces: the file "
            "was cut short; copy or export the recording again",
            path,
        )


def _read_npz(path: Path) -> tuple[np.ndarray, float, list[str], list[str] | None, float]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            content = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise InputFileError(f"cannot read the .npz ({exc})", path) from exc
    missing = [k for k in ("data", "sfreq", "ch_names") if k not in content]
    if missing:
        raise InputFileError(
            f"lacks {', '.join(missing)}; save an EEG .npz with data (epochs, channels, "
            "samples), sfreq and ch_names (optional labels, tmin)",
            path,
        )
    if content["data"].dtype.kind not in "iuf":
        raise InputFileError(
            f"data has dtype {content['data'].dtype}, not real numbers; save the signals as a "
            "float array",
            path,
        )
    data = np.asarray(content["data"], dtype=np.float64)
    try:
        sfreq = float(content["sfreq"])
    except (TypeError, ValueError):
        sfreq = float("nan")
    if not np.isfinite(sfreq) or sfreq <= 0:
        raise InputFileError(
            f"sfreq is {content['sfreq']!r}; save the sampling rate as one positive number (Hz)",
            path,
        )
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise InputFileError(
            f"data has shape {data.shape}; expected (epochs, channels, samples)", path
        )
    names = [str(n) for n in np.atleast_1d(content["ch_names"])]
    if len(names) != data.shape[1]:
        raise InputFileError(
            f"has {len(names)} ch_names for {data.shape[1]} channels in data; give one name "
            "per channel",
            path,
        )
    labels = None
    if "labels" in content:
        labels = [str(v) for v in np.atleast_1d(content["labels"])]
        if len(labels) != data.shape[0]:
            raise InputFileError(
                f"has {len(labels)} labels for {data.shape[0]} epochs; give one per epoch", path
            )
    t0 = float(content["tmin"]) if "tmin" in content else 0.0
    return data, sfreq, names, labels, t0


def _from_epoch_array(
    path: Path, data: np.ndarray, sfreq: float, names: list[str], labels: list[str] | None,
    t0: float, *, mapping: Mapping[str, str] | None, tmin: float, tmax: float | None,
    baseline: Any, fixed_length: float | None, l_freq: float | None, h_freq: float | None,
    notch: Any, reference: str | None, resample: float | None, channels: Any,
    drop_unknown_channels: bool,
) -> EEGEpochs:
    import mne

    if fixed_length is not None:
        raise ParameterError(
            f"{path.name} already holds epochs; --fixed-length applies to continuous recordings"
        )
    bad = ~np.isfinite(data)
    if bad.any():
        epoch, channel, _ = np.argwhere(bad)[0]
        raise InputFileError(
            f"the signals hold {int(bad.sum())} NaN/inf values (first in epoch {epoch}, "
            f"channel {names[channel]}); fix or leave out those epochs before building",
            path,
        )
    std, dropped = _standard_names(path, names, drop_unknown_channels)
    keep = [i for i, n in enumerate(names) if n not in dropped]
    data = np.asarray(data, dtype=np.float64)[:, keep]
    onsets = np.arange(len(data), dtype=float)
    if mapping is not None:
        if labels is None:
            raise InputFileError(
                "has no labels, so --events cannot select epochs; add a labels array", path
            )
        present = sorted(set(labels))
        absent = [c for c in mapping if c not in present]
        if absent:
            raise InputFileError(
                f"label{'s' if len(absent) > 1 else ''} {', '.join(absent)} not found; the "
                f"file's labels are {', '.join(present)}",
                path,
            )
        sel = [i for i, lab in enumerate(labels) if lab in mapping]
        data, onsets = data[sel], onsets[sel]
        labels = [mapping[labels[i]] for i in sel]
    _check_filters(path, sfreq, l_freq, h_freq, notch)
    if notch is not None:
        data = mne.filter.notch_filter(data, sfreq, np.atleast_1d(notch).astype(float),
                                       verbose="error")
    if l_freq is not None or h_freq is not None:
        data = mne.filter.filter_data(data, sfreq, l_freq, h_freq, verbose="error")
    if reference is not None:
        _check_reference(reference)
        data = data - data.mean(axis=1, keepdims=True)
    if channels is not None:
        idx = [std.index(c) for c in _select_channels(path, std, channels)]
        data, std = data[:, idx], [std[i] for i in idx]
    if resample is not None:
        data = mne.filter.resample(data, up=float(resample), down=sfreq, verbose="error")
        sfreq = float(resample)
    n = data.shape[-1]
    end = t0 + (n - 1) / sfreq
    if tmin < t0 - 1e-9 or (tmax is not None and tmax > end + 1e-9):
        raise InputFileError(
            f"the window {tmin:g} to {tmax if tmax is not None else end:g} s runs past the epochs, "
            f"which span {t0:g} to {end:g} s; choose --tmin/--tmax inside them",
            path,
        )
    first = int(round((tmin - t0) * sfreq))
    last = n - 1 if tmax is None else int(round((tmax - t0) * sfreq))
    data = data[..., first : last + 1]
    data = _baseline(data, sfreq, t0 + first / sfreq, baseline, path)
    return EEGEpochs(data, sfreq, std, labels, onsets, path, dropped)


def _standard_names(
    path: Path, names: Sequence[str], drop_unknown: bool
) -> tuple[list[str], list[str]]:
    std, unknown = [], []
    for name in names:
        norm = normalize_channel_name(name)
        if norm is None:
            unknown.append(name)
        else:
            std.append(norm)
    if unknown and not drop_unknown:
        raise InputFileError(
            f"{len(unknown)} channel{'s' if len(unknown) > 1 else ''} without a known 10-05 "
            f"position: {', '.join(unknown)}; rename them or pass --drop-unknown-channels",
            path,
        )
    dup = sorted({n for n in std if std.count(n) > 1})
    if dup:
        raise InputFileError(f"channel {dup[0]} appears more than once after renaming", path)
    if not std:
        raise InputFileError("no channel has a known 10-05 position", path)
    return std, unknown


def _select_channels(path: Path, available: Sequence[str], wanted: Sequence[str]) -> list[str]:
    out = []
    missing = []
    for name in wanted:
        norm = normalize_channel_name(name) or str(name)
        if norm in available:
            out.append(norm)
        else:
            missing.append(str(name))
    if missing:
        raise ParameterError(
            f"--channels {', '.join(missing)} not in {path.name}; its channels are "
            f"{', '.join(available)}"
        )
    return out
