"""The merge of template ⊕ region ⊕ branch overrides, as properties over generated overrides."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.config_merge import (
    ConfigError,
    catalogue_from_branch,
    check_template,
    effective,
    lookup,
)
from wire.downlink import VOICE_PACK_NAME

DEMO = tomllib.loads((Path(__file__).parents[2] / "assets" / "demo_branch.toml").read_text())
TEMPLATE = catalogue_from_branch(DEMO)

# Paths an override may set, each with values of the kind the template holds there.
minutes = st.integers(min_value=1, max_value=60)
texts = st.text(min_size=1, max_size=8)
hours = st.sampled_from([["09:00", "17:00"], ["08:30", "12:00"], []])
codes = st.sampled_from([s["code"] for s in TEMPLATE["services"]])
PATHS = st.one_of(
    st.tuples(codes.map(lambda c: f"services.{c}.target_wait_min"), minutes),
    st.tuples(codes.map(lambda c: f"services.{c}.mean_min"), minutes),
    st.tuples(codes.map(lambda c: f"services.{c}.names.zh"), texts),
    st.tuples(codes.map(lambda c: f"services.{c}.visible"), st.booleans()),
    st.tuples(codes.map(lambda c: f"services.{c}.offered"), st.booleans()),
    st.tuples(st.sampled_from(["mon", "sat", "sun"]).map(lambda d: f"opening_hours.{d}"), hours),
    st.tuples(st.just("kiosk_texts.zh.welcome"), texts),
    st.tuples(st.just("kiosk_texts.zh"), st.fixed_dictionaries({"welcome": texts})),
    st.tuples(st.just("voice_pack"), st.from_regex(VOICE_PACK_NAME, fullmatch=True)),
    st.tuples(st.just("appointments.slot_min"), st.sampled_from([15, 30, 60])),
    st.tuples(
        st.just("location"),
        st.fixed_dictionaries(
            {"lat": st.floats(-90, 90, allow_nan=False), "lon": st.floats(-180, 180)}
        ),
    ),
)
overrides = st.lists(PATHS, max_size=8).map(dict)


def _withdrawn(catalogue: dict[str, Any], path: str) -> bool:
    parts = path.split(".")
    if parts[0] != "services":
        return False
    return not any(s["code"] == parts[1] for s in catalogue["services"])


def _leaves(over: dict[str, Any]) -> dict[str, Any]:
    """The overrides no deeper override of the same layer refines."""
    return {p: v for p, v in over.items() if not any(q.startswith(p + ".") for q in over)}


@settings(max_examples=150, deadline=None)
@given(region=overrides, branch=overrides)
def test_a_branch_override_always_wins(region: dict[str, Any], branch: dict[str, Any]) -> None:
    merged, overridden = effective(TEMPLATE, region, branch)
    for path, value in _leaves(branch).items():
        if path.endswith(".offered"):
            continue  # not a value of the catalogue: it decides whether the business is there
        if _withdrawn(merged, path):
            offered = ".".join(path.split(".")[:2]) + ".offered"
            assert branch.get(offered) is False or (
                region.get(offered) is False and offered not in branch
            )
            continue
        assert lookup(merged, path) == (True, value)
        assert overridden[path] == "branch"
    for path in _leaves(region):
        if path not in branch and not any(path.startswith(p + ".") for p in branch):
            assert overridden.get(path) == "region"


@settings(max_examples=150, deadline=None)
@given(region=overrides, branch=overrides)
def test_removing_an_override_restores_the_inherited_value(
    region: dict[str, Any], branch: dict[str, Any]
) -> None:
    template = copy.deepcopy(TEMPLATE)
    from_region, _ = effective(template, region, {})
    from_template, _ = effective(template, {}, {})
    effective(template, region, branch)  # must leave the template and the region untouched
    assert template == TEMPLATE
    # Removing every branch override, one at a time, ends at the region's configuration.
    remaining = dict(branch)
    for path in list(branch):
        del remaining[path]
        merged, overridden = effective(template, region, remaining)
        if any(path == q or path.startswith(q + ".") for q in remaining):
            continue  # a shallower branch override still covers it
        assert overridden.get(path) != "branch"
        business = ".".join(path.split(".")[:2])
        if not any(q.startswith(path + ".") or q == business + ".offered" for q in remaining):
            if path.endswith(".offered"):  # the business is there or not, as in its region
                assert lookup(merged, business)[0] == lookup(from_region, business)[0]
            else:
                assert lookup(merged, path) == lookup(from_region, path)
    assert effective(template, region, remaining)[0] == from_region
    assert effective(template, {}, remaining)[0] == from_template
    assert from_template == TEMPLATE


@pytest.mark.parametrize(
    ("path", "value", "code", "says"),
    [
        ("services.Z.target_wait_min", 8, "unknown_path", "no service with that code"),
        ("services.A.colour", "red", "unknown_path", "no field 'colour'"),
        ("services.0.target_wait_min", 8, "unknown_path", "no service with that code"),
        ("services.A", None, "unknown_path", "offered = false"),
        ("branding.logo", "x.png", "unknown_path", "no section 'branding'"),
        ("kiosk_texts.zh.farewell", "再见", "unknown_path", "a kiosk text is one of"),
        ("kiosk_texts.zh", {"farewell": "再见"}, "unknown_path", "a kiosk text is one of"),
        ("kiosk_texts.en.welcome", "W" * 61, "bad_value", "60 characters at most"),
        ("voice_pack", "../north", "bad_value", "a pack name"),
        ("voice_pack", "北方", "bad_value", "a pack name"),
        ("services.A.target_wait_min", "eight", "bad_value", "a number, as in the template"),
        ("services.A.visible", 1, "bad_value", "a true/false"),
        ("opening_hours.sat", ["12:00", "09:00"], "bad_value", "opening first"),
        ("opening_hours.holiday", [], "unknown_path", "a day is one of"),
        ("location", {"lat": 95, "lon": 0}, "bad_value", "lat: -90…90"),
        ("services..A", 1, "unknown_path", "dotted names"),
    ],
)
def test_an_override_the_template_cannot_take_is_refused_clearly(
    path: str, value: Any, code: str, says: str
) -> None:
    for layer in ("region", "branch"):
        with pytest.raises(ConfigError) as refused:
            effective(TEMPLATE, **{layer: {path: value}})
        assert refused.value.code == code
        assert says in str(refused.value), str(refused.value)
        assert refused.value.path == path


def test_businesses_are_addressed_by_code_not_place_and_keep_the_template_order() -> None:
    reordered = copy.deepcopy(TEMPLATE)
    reordered["services"].reverse()
    for template in (TEMPLATE, reordered):
        merged, overridden = effective(
            template,
            {"services.C.target_wait_min": 20, "opening_hours.sat": ["09:00", "12:00"]},
            {"services.C.target_wait_min": 8, "location": {"lat": 31.24, "lon": 121.5}},
        )
        by_code = {s["code"]: s for s in merged["services"]}
        assert by_code["C"]["target_wait_min"] == 8
        assert [s["code"] for s in merged["services"]] == [s["code"] for s in template["services"]]
        assert merged["opening_hours"]["sat"] == ["09:00", "12:00"]
        assert merged["location"] == {"lat": 31.24, "lon": 121.5}
        assert overridden == {
            "services.C.target_wait_min": "branch",
            "opening_hours.sat": "region",
            "location": "branch",
        }


def test_a_withdrawn_business_takes_its_bundles_along_and_a_branch_can_bring_it_back() -> None:
    merged, _ = effective(TEMPLATE, {"services.K.offered": False}, {})
    assert "K" not in {s["code"] for s in merged["services"]}
    assert merged["bundles"] == []  # NEW includes K
    assert all("offered" not in s for s in merged["services"])
    merged, overridden = effective(
        TEMPLATE, {"services.K.offered": False}, {"services.K.offered": True}
    )
    assert "K" in {s["code"] for s in merged["services"]}
    assert [b["code"] for b in merged["bundles"]] == ["NEW"]
    assert overridden == {"services.K.offered": "branch"}


def test_a_deeper_branch_override_refines_a_whole_region_section() -> None:
    merged, overridden = effective(
        TEMPLATE,
        {"kiosk_texts.zh": {"welcome": "华东欢迎您"}},
        {"kiosk_texts.zh.welcome": "陆家嘴欢迎您"},
    )
    assert merged["kiosk_texts"]["zh"] == {"welcome": "陆家嘴欢迎您"}
    assert overridden == {"kiosk_texts.zh": "region", "kiosk_texts.zh.welcome": "branch"}
    # The other way round, the branch's whole section replaces the region's detail.
    merged, overridden = effective(
        TEMPLATE, {"kiosk_texts.zh.welcome": "华东欢迎您"}, {"kiosk_texts.zh": {"welcome": "好"}}
    )
    assert merged["kiosk_texts"]["zh"] == {"welcome": "好"}
    assert overridden == {"kiosk_texts.zh": "branch"}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda c: c["services"].append(dict(c["services"][0])), "share a code"),
        (lambda c: c["services"][0].pop("names"), "names in zh and en"),
        (lambda c: c["services"][0].update(target_wait_min=0), "a number above 0"),
        (lambda c: c["bundles"][0]["includes"].append("Q"), "lacks: ['Q']"),
        (lambda c: c.update(branding={}), "unknown sections: branding"),
        (lambda c: c["opening_hours"].update(mon=["9", "5"]), "opening_hours.mon"),
        (lambda c: c["kiosk_texts"]["zh"].update(slogan="存款送礼"), "kiosk_texts.zh.slogan"),
        (lambda c: c["kiosk_texts"]["en"].update(footer=7), "kiosk_texts.en.footer: a text"),
        (lambda c: c.update(voice_pack="assets/voice"), "a pack name"),
    ],
)
def test_a_template_the_branches_could_not_use_is_refused(change: Any, says: str) -> None:
    catalogue = copy.deepcopy(TEMPLATE)
    check_template(catalogue)
    change(catalogue)
    with pytest.raises(ConfigError) as refused:
        check_template(catalogue)
    assert says in str(refused.value)
