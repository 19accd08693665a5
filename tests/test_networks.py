from __future__ import annotations

import pandas as pd
import pytest

from neurocl._core.errors import InputFileError, ParameterError
from neurocl._core.registry import Registry
from neurocl.io.bids import ids_from_name
from neurocl.io.networks import YEO7, canonical_network, read_node_table


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("Vis", "Visual"), ("SomMot", "Somatomotor"), ("DorsAttn", "DorsalAttention"),
     ("SalVentAttn", "VentralAttention"), ("VentralAttention_Salience", "VentralAttention"),
     ("Cont", "Frontoparietal"), ("Limbic", "Limbic"), ("Default", "Default"),
     ("None", "None"), ("", "None"), ("Cerebellum", "Cerebellum")],
)
def test_canonical_network(alias, canonical):
    assert canonical_network(alias) == canonical


def test_aal_and_schaefer_tables_give_the_same_names(test_data):
    aal = read_node_table(test_data / "atlases/network_maps/aal116_spm12_to_yeo7.tsv",
                          name_column="roi_name", network_column="yeo7_network")
    sch = read_node_table(test_data / "atlases/schaefer2018_7networks/"
                          "Schaefer2018_100Parcels_7Networks_order.tsv")
    assert len(aal) == 116 and len(sch) == 100
    assert set(sch["network"]) == set(YEO7)
    assert set(aal["network"]) == set(YEO7) | {"None"}
    assert aal[["x", "y", "z"]].notna().all().all()
    assert aal["name"].iloc[0] == "Precentral_L"


def test_node_table_missing_column(tmp_path):
    path = tmp_path / "nodes.tsv"
    pd.DataFrame({"label": ["a"], "net": ["Vis"]}).to_csv(path, sep="\t", index=False)
    assert read_node_table(path)["network"].tolist() == ["Visual"]
    with pytest.raises(InputFileError, match="--network-column"):
        read_node_table(path, network_column="yeo")


def test_bids_ids():
    assert ids_from_name("sub-01_ses-2_task-rest_run-3_timeseries.tsv") == {
        "sample_id": "sub-01_ses-2_task-rest_run-3", "subject_id": "sub-01",
        "session": "2", "run": "3"}


def test_registry_normalises_and_lists():
    reg: Registry[type] = Registry("encoder")

    @reg.register("edge_drop", "ed")
    class A:
        pass

    assert reg.get("Edge-Drop") is A and reg.get("ED") is A and "edge drop" in reg
    assert reg.build(A()) is not None
    with pytest.raises(ParameterError, match="valid encoders: edge-drop"):
        reg.get("nope")
