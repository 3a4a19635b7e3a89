"""Index scoring against hand-computed numbers: limits, polarity, clipping, linear,
pass/fail, normalised weights and members without data."""

import pytest

from pdca.engine import indexes as ix
from pdca.engine.indexes import IndexDefinitionError, KpiFacts, Scoring

HIGHER = KpiFacts("higher", target=80, warning_limit=75, breach_limit=70)  # service level
LOWER = KpiFacts("lower", target=4, warning_limit=6, breach_limit=8)  # response time (h)
LIMITS = Scoring()


def definition(members, **extra):
    return ix.from_dict(
        {
            "code": "TST",
            "titles": {"en": "Test index", "zh_CN": "测试指数"},
            "members": members,
            "watch": {"period": "day", "target": 90, "warning_limit": 85, "breach_limit": 80},
            **extra,
        },
        "test",
    )


def test_the_breach_limit_scores_0_and_the_target_100_linear_between():
    assert ix.score(LIMITS, 70, HIGHER) == 0
    assert ix.score(LIMITS, 80, HIGHER) == 100
    assert ix.score(LIMITS, 75, HIGHER) == 50  # (75 - 70) / (80 - 70)
    assert ix.score(LIMITS, 77.5, HIGHER) == 75


def test_lower_is_better_counts_the_other_way():
    assert ix.score(LIMITS, 8, LOWER) == 0
    assert ix.score(LIMITS, 4, LOWER) == 100
    assert ix.score(LIMITS, 5, LOWER) == 75  # 100 * (5 - 8) / (4 - 8)
    assert ix.score(LIMITS, 7, LOWER) == 25


def test_scores_are_clipped_beyond_the_target_and_the_limit():
    assert ix.score(LIMITS, 95, HIGHER) == 100
    assert ix.score(LIMITS, 58.3, HIGHER) == 0
    assert ix.score(LIMITS, 2, LOWER) == 100
    assert ix.score(LIMITS, 11, LOWER) == 0


def test_the_warning_limit_stands_in_for_a_missing_breach_limit():
    only_warning = KpiFacts("higher", target=80, warning_limit=60, breach_limit=None)
    assert ix.score(LIMITS, 70, only_warning) == 50
    assert ix.score(LIMITS, 70, KpiFacts("higher", 80, None, None)) is None


def test_linear_between_two_given_values_either_way_round():
    assert ix.score(Scoring("linear", score_0=-20, score_100=60), 20, None) == 50
    assert ix.score(Scoring("linear", score_0=8, score_100=0.5), 2, None) == 80  # 100*6/7.5
    assert ix.score(Scoring("linear", score_0=8, score_100=0.5), 0.1, None) == 100


def test_pass_fail_on_a_threshold_or_on_the_kpis_target():
    assert ix.score(Scoring("pass_fail", at_least=95), 95, None) == 100
    assert ix.score(Scoring("pass_fail", at_least=95), 94.9, None) == 0
    assert ix.score(Scoring("pass_fail", at_most=1), 1.2, None) == 0
    assert ix.score(Scoring("pass_fail"), 3.9, LOWER) == 100
    assert ix.score(Scoring("pass_fail"), 79, HIGHER) == 0


def test_the_index_is_the_weighted_sum_with_weights_normalised():
    d = definition(
        [{"kpi": "SL", "weight": 3}, {"kpi": "RESP", "weight": 1}, {"kpi": "ERR", "weight": 1}]
    )
    assert d.weights() == {"SL": 0.6, "RESP": 0.2, "ERR": 0.2}
    facts = {"SL": HIGHER, "RESP": LOWER, "ERR": KpiFacts("lower", 0.5, 0.8, 1.2)}
    # SL 75 → 50; RESP 5 → 75; ERR 0.85 → 100*(0.85-1.2)/(0.5-1.2) = 50
    scored = ix.compose(d, {"SL": 75, "RESP": 5, "ERR": 0.85}, facts)
    assert scored.value == pytest.approx(0.6 * 50 + 0.2 * 75 + 0.2 * 50)  # 55
    assert [round(m.contribution, 6) for m in scored.members] == [30, 15, 10]
    assert (scored.used, scored.total, scored.missing) == (3, 3, [])


def test_a_member_without_data_is_left_out_never_counted_as_zero():
    d = definition(
        [{"kpi": "SL", "weight": 3}, {"kpi": "RESP", "weight": 1}, {"kpi": "ERR", "weight": 1}]
    )
    facts = {"SL": HIGHER, "RESP": LOWER, "ERR": KpiFacts("lower", 0.5, 0.8, 1.2)}
    scored = ix.compose(d, {"SL": 75, "RESP": 5}, facts)
    # The weights 3 and 1 are normalised to 0.75 and 0.25: 0.75*50 + 0.25*75 = 56.25.
    assert scored.value == pytest.approx(56.25)
    assert (scored.used, scored.total, scored.missing) == (2, 3, ["ERR"])
    assert scored.members[2].share == 0 and scored.members[2].score is None
    assert ix.compose(d, {}, facts).value is None


def test_a_ratio_index_scores_each_member_as_a_share_of_its_base():
    d = definition(
        [
            {
                "kpi": "PREV",
                "weight": 1,
                "scoring": {"method": "linear", "score_0": 6, "score_100": 2},
            },
            {
                "kpi": "EXT",
                "weight": 3,
                "scoring": {"method": "linear", "score_0": 8, "score_100": 0},
            },
        ],
        per_base="OPEX",
    )
    # Base 200: PREV 6 is 3 % → 75; EXT 4 is 2 % → 75 … EXT 8 is 4 % → 50.
    scored = ix.compose(d, {"PREV": 6, "EXT": 8}, {}, base=200)
    assert [m.value for m in scored.members] == [3, 4]
    assert scored.value == pytest.approx(0.25 * 75 + 0.75 * 50)
    assert ix.compose(d, {"PREV": 6}, {}, base=None).value is None  # no base: nothing to score


def test_the_drop_is_each_members_change_of_contribution_largest_first():
    before = [{"kpi": "SL", "contribution": 60}, {"kpi": "RESP", "contribution": 20}]
    now = [{"kpi": "SL", "contribution": 15}, {"kpi": "RESP", "contribution": 25}]
    assert ix.drop_by_member(now, before) == [("SL", -45), ("RESP", 5)]


@pytest.mark.parametrize(
    ("change", "item"),
    [
        ({"members": []}, "members"),
        ({"members": [{"kpi": "SL", "weight": 0}]}, "members[0].weight"),
        ({"members": [{"kpi": "SL"}, {"kpi": "SL"}]}, "members[1].kpi"),
        ({"members": [{"kpi": "SL", "scoring": "median"}]}, "members[0].scoring.method"),
        (
            {"members": [{"kpi": "SL", "scoring": {"method": "linear", "score_0": 1}}]},
            "members[0].scoring",
        ),
        ({"members": [{"kpi": "SL"}], "per_base": "OPEX"}, "members[0].scoring"),
        ({"watch": {"period": "year", "target": 90}}, "watch.period"),
        ({"watch": {"period": "day", "target": 90, "warning_limit": 95}}, "watch.warning_limit"),
        ({"watch": {"period": "day", "target": 90, "rules": ["spc_magic"]}}, "watch.rules"),
        ({"colour": "red"}, "index"),
        ({"members": [{"kpi": "SL", "select": {"tag": "dim"}}]}, "members[0]"),
        ({"members": [{"weight": 2}]}, "members[0]"),
        ({"members": [{"select": {"tag": "two words"}}]}, "members[0].select.tag"),
        ({"members": [{"select": {"tags": ["dim"]}}]}, "members[0].select"),
        (
            {"members": [{"select": {"tag": "dim"}}, {"select": {"tag": "dim"}}]},
            "members[1].select",
        ),
    ],
)
def test_a_wrong_definition_names_the_item_and_the_reason(change, item):
    raw = {
        "code": "TST",
        "titles": {"en": "Test", "zh_CN": "测试"},
        "members": [{"kpi": "SL"}],
        "watch": {"period": "day", "target": 90},
        **change,
    }
    with pytest.raises(IndexDefinitionError) as refused:
        ix.from_dict(raw, "test.yaml")
    assert refused.value.item == item and refused.value.reason


def survey_dimensions():
    """A service level named by code (weight 3) and the survey dimensions chosen by their
    tag (weight 2 for the group), each dimension linear from 3 (0) to 4.5 (100)."""
    return definition(
        [
            {"kpi": "SL", "weight": 3},
            {
                "select": {"tag": "survey-dimension"},
                "weight": 2,
                "scoring": {"method": "linear", "score_0": 3, "score_100": 4.5},
            },
        ]
    )


TAGS = {
    "CARE-ASS-BIL": ["survey", "survey-dimension", "dimension:ASS"],
    "CARE-EMP-BIL": ["survey", "survey-dimension", "dimension:EMP"],
    "CARE-REL-CS": ["survey", "survey-dimension", "dimension:REL"],
    "CARE-CSAT-CS": ["survey", "survey-csat"],
    "SL": ["survey-dimension"],  # a member by code already: never counted twice
}


def test_a_selector_takes_every_kpi_with_its_tag_and_is_one_member_of_the_definition():
    d = survey_dimensions()
    assert d.weights() == {"SL": 0.6, "tag:survey-dimension": 0.4}
    resolved = ix.resolve(d, TAGS)
    assert [(m.kpi, m.group) for m in resolved.members] == [
        ("SL", None),
        ("CARE-ASS-BIL", "survey-dimension"),
        ("CARE-EMP-BIL", "survey-dimension"),
        ("CARE-REL-CS", "survey-dimension"),
    ]
    assert resolved.digest == d.digest  # the same definition version, whatever it finds


def test_the_kpis_a_selector_found_share_its_weight_among_those_with_data():
    resolved = ix.resolve(survey_dimensions(), TAGS)
    # SL 75 → 50 (3 parts); the group's 2 parts go to the two dimensions with data,
    # 1 each: ASS 4.5 → 100, EMP 3.75 → 50; REL has no data this period.
    scored = ix.compose(
        resolved, {"SL": 75, "CARE-ASS-BIL": 4.5, "CARE-EMP-BIL": 3.75}, {"SL": HIGHER}
    )
    assert scored.value == pytest.approx((3 * 50 + 1 * 100 + 1 * 50) / 5)  # 60
    assert [round(m.share, 6) for m in scored.members] == [0.6, 0.2, 0.2, 0]
    assert [round(m.contribution, 6) for m in scored.members] == [30, 20, 10, 0]
    # The group counts as one member: it stood on both, though one dimension is missing.
    assert (scored.used, scored.total, scored.missing) == (2, 2, [])


def test_a_selector_whose_kpis_have_no_data_is_one_missing_member():
    resolved = ix.resolve(survey_dimensions(), TAGS)
    scored = ix.compose(resolved, {"SL": 77.5}, {"SL": HIGHER})
    assert scored.value == 75  # SL alone: (77.5 - 70) / (80 - 70)
    assert (scored.used, scored.total, scored.missing) == (1, 2, ["tag:survey-dimension"])


def test_a_selector_that_finds_nothing_leaves_the_index_on_its_other_members():
    resolved = ix.resolve(survey_dimensions(), {"CARE-CSAT-CS": ["survey-csat"]})
    assert [m.kpi for m in resolved.members] == ["SL"]
    assert ix.compose(resolved, {"SL": 75}, {"SL": HIGHER}).value == 50


def test_the_shipped_definitions_load_with_weights_that_sum_to_one():
    from pdca import resources

    found = ix.load_directory(resources.indexes_dir())
    assert sorted(found) == ["PCI", "QCI", "QSI"]
    for d in found.values():
        assert sum(d.weights().values()) == pytest.approx(1)
    assert {m.category for m in found["QCI"].members} == set(ix.CATEGORIES)
    assert found["QCI"].per_base == "FIN-OPEX"
    assert [m.select for m in found["PCI"].selectors] == ["survey-dimension"]
