"""Property-based tests of the loaders: tables, ROI time series, NIfTI images and EDF files.

Each property says what a loader returns for any input of a family (the same values, the
same shape, rows in order), and that damaged or unsupported input raises one of neurocl's
own errors, never another exception type.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from neurocl._core.errors import InputFileError, NeuroclError
from neurocl.io import nifti
from neurocl.io.eeg import read_epochs
from neurocl.io.roi_inputs import read_roi_inputs
from neurocl.io.tables import join_phenotype, read_table

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# a minimal EDF writer (EDF: 256-byte header, 256 bytes per signal, int16 records)
# --------------------------------------------------------------------------------------------


def _field(value: object, width: int) -> bytes:
    text = str(value).encode("ascii")
    assert len(text) <= width, (value, width)
    return text.ljust(width, b" ")


def _number(value: float, width: int = 8) -> bytes:
    """A number in at most ``width`` characters (EDF stores them as ASCII)."""
    for digits in range(width, 0, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= width:
            return _field(text, width)
    raise ValueError(value)


def write_edf(path: Path, signals: np.ndarray, sfreq: int, names: list[str], *,
              record_seconds: int = 1, physical_range: float | None = None) -> float:
    """Write ``signals`` (channels x samples, in microvolts) as an EDF file.

    The samples are quantised to int16 over [-physical_range, physical_range] (default: the
    largest absolute value); the number of samples is cut to whole data records.

    Returns
    -------
    float
        The quantisation step in microvolts.
    """
    n_ch, n_samples = signals.shape
    per_record = sfreq * record_seconds
    n_records = n_samples // per_record
    signals = signals[:, : n_records * per_record]
    phys = float(physical_range or max(float(np.abs(signals).max()), 1e-3))
    phys = float(_number(phys).decode())  # what the header can say
    dig_min, dig_max = -32768, 32767
    step = 2 * phys / (dig_max - dig_min)
    digital = np.clip(np.round((signals + phys) / step + dig_min), dig_min, dig_max)
    header = b"".join([
        _field("0", 8), _field("X X X X", 80), _field("Startdate 01-JAN-2020 X X X", 80),
        _field("01.01.20", 8), _field("00.00.00", 8), _field(256 * (n_ch + 1), 8),
        _field("", 44), _field(n_records, 8), _field(record_seconds, 8), _field(n_ch, 4),
    ])
    columns = [
        [_field(name, 16) for name in names],
        [_field("AgAgCl electrode", 80)] * n_ch,
        [_field("uV", 8)] * n_ch,
        [_number(-phys)] * n_ch,
        [_number(phys)] * n_ch,
        [_field(dig_min, 8)] * n_ch,
        [_field(dig_max, 8)] * n_ch,
        [_field("HP:0Hz LP:0Hz", 80)] * n_ch,
        [_field(per_record, 8)] * n_ch,
        [_field("", 32)] * n_ch,
    ]
    header += b"".join(b"".join(col) for col in columns)
    assert len(header) == 256 * (n_ch + 1)
    records = digital.astype("<i2").reshape(n_ch, n_records, per_record).transpose(1, 0, 2)
    path.write_bytes(header + records.tobytes())
    return step


# --------------------------------------------------------------------------------------------
# phenotype tables and the join
# --------------------------------------------------------------------------------------------

#: ids: letters, digits (numeric-looking "001", "1.0", "1e3"), separators, unicode, spaces
ID_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ0123456789._-+e é日 \t") + ["µ"]),
    min_size=1, max_size=6,
)


@SETTINGS
@given(
    sample_ids=st.lists(ID_TEXT, min_size=1, max_size=6, unique=True),
    data=st.data(),
    sep=st.sampled_from([".tsv", ".csv"]),
)
def test_join_keeps_every_sample_in_order_or_fails_cleanly(
    sample_ids: list[str], data: st.DataObject, sep: str
) -> None:
    # rows for some samples (in any order, maybe padded with spaces), others, duplicates
    known = data.draw(st.lists(st.sampled_from(sample_ids), max_size=6, unique=True))
    known += data.draw(st.lists(st.sampled_from(known), max_size=1)) if known else []
    padded = [data.draw(st.sampled_from([i, f" {i}", f"{i} "])) for i in known]
    table_ids = data.draw(st.permutations(padded + data.draw(st.lists(ID_TEXT, max_size=3))))
    assume(table_ids)
    subjects = pd.DataFrame({"sample_id": sample_ids, "subject_id": sample_ids})
    values = [float(i) for i in range(len(table_ids))]
    pheno = pd.DataFrame({"participant_id": table_ids, "age": values})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"participants{sep}"
        pheno.to_csv(path, sep="," if sep == ".csv" else "\t", index=False)
        try:
            merged, report = join_phenotype(subjects, path, "participant_id")
        except InputFileError as exc:
            assert str(path) in str(exc)
            event("refused")
            return
    event("joined")
    # no error: every sample once, in order, with the age of its own row
    assert merged["sample_id"].tolist() == sample_ids
    cleaned = [t.strip() for t in table_ids]
    assert len(set(cleaned)) == len(cleaned)  # duplicates must have been refused
    age = dict(zip(cleaned, values, strict=True))
    for sid, got in zip(sample_ids, merged["age"], strict=True):
        want = age.get(sid.strip())
        if want is None:
            assert np.isnan(got) and sid in report.missing
        else:
            assert got == want


@SETTINGS
@given(ids=st.lists(st.from_regex(r"0*[0-9]{1,3}", fullmatch=True), min_size=2, max_size=6,
                    unique=True))
def test_numeric_looking_ids_are_kept_as_written(ids: list[str]) -> None:
    """"001" and "1" are different subjects: ids are never parsed as numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "participants.tsv"
        path.write_text("participant_id\tage\n"
                        + "".join(f"{i}\t{k}\n" for k, i in enumerate(ids)))
        subjects = pd.DataFrame({"sample_id": ids[::-1], "subject_id": ids[::-1]})
        merged, report = join_phenotype(subjects, path, "participant_id")
    assert merged["age"].tolist() == list(range(len(ids)))[::-1]
    assert report.missing == [] and report.unused == []


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".tsv", ".csv"]))
def test_any_bytes_as_table_read_or_fail_cleanly(data: bytes, suffix: str) -> None:
    subjects = pd.DataFrame({"sample_id": ["a", "b"], "subject_id": ["a", "b"]})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"table{suffix}"
        path.write_bytes(data)
        try:
            read_table(path)
            join_phenotype(subjects, path, "participant_id")
        except InputFileError as exc:
            assert str(path) in str(exc)


# --------------------------------------------------------------------------------------------
# ROI time-series tables
# --------------------------------------------------------------------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)


@SETTINGS
@given(
    values=arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 5)), elements=FINITE),
    suffix=st.sampled_from([".tsv", ".csv", ".1D", ".txt", ".npy"]),
    header=st.booleans(),
)
def test_roi_table_round_trip(values: np.ndarray, suffix: str, header: bool) -> None:
    n_nodes = values.shape[1]
    # a first row of 0, 1, 2... or 1, 2, 3... is read as a column index, not data
    assume(not (n_nodes > 1 and list(values[0]) in (list(range(n_nodes)),
                                                      list(range(1, n_nodes + 1)))))
    names = [f"ROI {j}" for j in range(n_nodes)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sub-01_timeseries{suffix}"
        if suffix == ".npy":
            np.save(path, values)
            header = False
        elif suffix in (".1D", ".txt"):
            np.savetxt(path, values, fmt="%.17g")
            header = False
        else:
            pd.DataFrame(values, columns=names).to_csv(
                path, sep="," if suffix == ".csv" else "\t", index=False, header=header)
        data = read_roi_inputs([path], input_type="timeseries")
    assert data.input_type == "timeseries"
    assert data.subjects["sample_id"].tolist() == ["sub-01"]
    np.testing.assert_array_equal(data.arrays[0], values)
    assert data.node_names == (names if header else None)


@SETTINGS
@given(data=st.binary(max_size=400),
       suffix=st.sampled_from([".tsv", ".csv", ".1D", ".npy", ".npz"]))
def test_any_bytes_as_roi_input_read_or_fail_cleanly(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sub-01_ts{suffix}"
        path.write_bytes(data)
        try:
            out = read_roi_inputs([path])
        except InputFileError as exc:
            assert str(path) in str(exc)
            return
    assert all(a.dtype == np.float64 and a.ndim == 2 for a in out.arrays)


# --------------------------------------------------------------------------------------------
# NIfTI images
# --------------------------------------------------------------------------------------------

NIFTI_DTYPES = [np.float32, np.float64, np.int16, np.uint8, np.int32]


@st.composite
def images(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    shape = draw(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4),
                           st.integers(2, 6)))
    dtype = draw(st.sampled_from(NIFTI_DTYPES))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -1000), min(info.max, 1000))
    else:
        elements = st.floats(-1e6, 1e6, allow_nan=False, width=32)
    data = draw(arrays(dtype, shape, elements=elements))
    zooms = draw(st.lists(st.floats(0.5, 4.0), min_size=3, max_size=3))
    origin = draw(st.lists(st.floats(-100, 100), min_size=3, max_size=3))
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = origin
    if draw(st.booleans()):  # an oblique grid
        affine[0, 1] = draw(st.floats(-0.5, 0.5))
    return data, affine


@SETTINGS
@given(image=images(), gz=st.booleans())
def test_nifti_round_trip(image: tuple[np.ndarray, np.ndarray], gz: bool) -> None:
    data, affine = image
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sub-01_bold.nii{'.gz' if gz else ''}"
        nib.save(nib.Nifti1Image(data, affine), path)
        header = nifti.read_header(path)
        _, loaded = nifti._load_data(path, header.shape)
    assert header.shape == data.shape
    np.testing.assert_allclose(header.affine, affine, atol=1e-5)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, data.astype(np.float32))


@SETTINGS
@given(shape=st.one_of(
    st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.just(1)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(2, 3),
              st.integers(2, 3)),
))
def test_nifti_not_4d_is_refused(shape: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sub-01_bold.nii.gz"
        nib.save(nib.Nifti1Image(np.zeros(shape, np.float32), np.eye(4)), path)
        with pytest.raises(InputFileError, match="3D image|dimensions") as err:
            nifti.read_header(path)
    assert "sub-01_bold.nii.gz" in str(err.value) and "4D" in str(err.value)


@SETTINGS
@given(image=images(), bad=st.sampled_from([np.nan, np.inf, -np.inf]),
       where=st.integers(0, 10**6))
def test_nifti_non_finite_voxels_become_zero(image: tuple[np.ndarray, np.ndarray],
                                             bad: float, where: int) -> None:
    """Non-finite voxels (outside the brain) read as 0; every other voxel is unchanged."""
    data, affine = image
    data = data.astype(np.float32)
    flat = data.reshape(-1)
    flat[where % flat.size] = bad
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sub-01_bold.nii"
        nib.save(nib.Nifti1Image(data, affine), path)
        _, loaded = nifti._load_data(path, nifti.read_header(path).shape)
    expected = np.where(np.isfinite(data), data, 0.0)
    np.testing.assert_array_equal(loaded, expected)


@pytest.fixture(scope="module")
def nifti_bytes() -> dict[str, bytes]:
    data = np.random.default_rng(0).standard_normal((4, 3, 2, 5)).astype(np.float32)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".nii", ".nii.gz"):
            path = Path(tmp) / f"x{suffix}"
            nib.save(nib.Nifti1Image(data, np.eye(4)), path)
            out[suffix] = path.read_bytes()
    return out


@SETTINGS
@given(suffix=st.sampled_from([".nii", ".nii.gz"]), cut=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8))
def test_damaged_nifti_read_or_fail_cleanly(nifti_bytes: dict[str, bytes], suffix: str,
                                            cut: float, flips: list[tuple[int, int]]) -> None:
    raw = bytearray(nifti_bytes[suffix])
    for pos, value in flips:
        raw[pos % len(raw)] = value
    raw = raw[: int(len(raw) * cut)] if cut < 1.0 else raw
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sub-01_bold{suffix}"
        path.write_bytes(bytes(raw))
        try:
            header = nifti.read_header(path)
            nifti._load_data(path, header.shape)
        except InputFileError as exc:
            assert "sub-01_bold" in str(exc)


# --------------------------------------------------------------------------------------------
# EDF recordings
# --------------------------------------------------------------------------------------------

CHANNELS = ["Fp1", "Fz", "C3", "Cz", "C4", "Pz", "O1", "O2"]


@SETTINGS
@given(
    n_ch=st.integers(1, len(CHANNELS)),
    sfreq=st.sampled_from([64, 100, 128, 160, 250, 256]),
    seconds=st.integers(1, 4),
    scale=st.floats(1.0, 5000.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_edf_round_trip(n_ch: int, sfreq: int, seconds: int, scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    signals = rng.uniform(-scale, scale, (n_ch, sfreq * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "S001R01.edf"
        step = write_edf(path, signals, sfreq, CHANNELS[:n_ch])
        rec = read_epochs(path, fixed_length=float(seconds), l_freq=None)
    assert rec.ch_names == CHANNELS[:n_ch] and rec.sfreq == sfreq
    assert rec.data.shape == (1, n_ch, sfreq * seconds)
    # volts back to microvolts: equal within one quantisation step
    np.testing.assert_allclose(rec.data[0] * 1e6, signals, rtol=0, atol=step * 1.01)


@pytest.fixture(scope="module")
def edf_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.edf"
        write_edf(path, np.random.default_rng(0).standard_normal((3, 128 * 3)) * 50, 128,
                  ["C3", "Cz", "C4"])
        return path.read_bytes()


@SETTINGS
@given(cut=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.integers(0, 1023), st.integers(0, 255)), max_size=6))
def test_damaged_edf_read_or_fail_cleanly(edf_bytes: bytes, cut: float,
                                          flips: list[tuple[int, int]]) -> None:
    raw = bytearray(edf_bytes)
    for pos, value in flips:  # the header is where damage changes the meaning
        raw[pos % len(raw)] = value
    raw = raw[: int(len(raw) * cut)] if cut < 1.0 else raw
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "S001R01.edf"
        path.write_bytes(bytes(raw))
        try:
            rec = read_epochs(path, fixed_length=1.0, l_freq=None)
        except NeuroclError as exc:
            assert "S001R01.edf" in str(exc) or "--" in str(exc)
            return
    assert np.isfinite(rec.data).all() and rec.data.ndim == 3
