"""Kinship lexicon: relationships, traditional characters, and the traps that are not kin."""

from __future__ import annotations

import pytest

from backend.tracing.engine.kinship import (
    BUSINESS,
    CHILD,
    CLOSE,
    EXTENDED,
    HELPER,
    IN_LAW,
    KIN,
    LENDER,
    PARENT,
    PLAIN,
    SIBLING,
    SPOUSE,
    WORK,
    classify_name,
    core_name,
    inverse_relationship,
)


@pytest.mark.parametrize("name, relationship", [
    ("老公", SPOUSE), ("老婆", SPOUSE), ("媳妇", SPOUSE), ("爱人", SPOUSE), ("老伴", SPOUSE), ("hubby", SPOUSE),
    ("Wife", SPOUSE), ("爸", PARENT), ("妈", PARENT), ("老爸", PARENT), ("老妈", PARENT), ("父亲", PARENT),
    ("母亲", PARENT), ("Mom", PARENT), ("Dad", PARENT), ("岳父", IN_LAW), ("岳母", IN_LAW), ("公公", IN_LAW),
    ("婆婆", IN_LAW), ("哥", SIBLING), ("姐", SIBLING), ("弟", SIBLING), ("妹", SIBLING), ("嫂子", SIBLING),
    ("姐夫", SIBLING), ("大哥", SIBLING), ("儿子", CHILD), ("女儿", CHILD), ("舅舅", EXTENDED), ("小姨", EXTENDED),
    ("姑姑", EXTENDED), ("叔叔", EXTENDED), ("爷爷", EXTENDED), ("奶奶", EXTENDED), ("外公", EXTENDED),
    ("外婆", EXTENDED), ("表哥", EXTENDED), ("cousin Li", EXTENDED), ("妈妈手机", PARENT),
])
def test_kin_words(name, relationship):
    label = classify_name(name)
    assert (label.category, label.relationship) == (KIN, relationship)


@pytest.mark.parametrize("traditional, relationship", [("老媽", PARENT), ("父親", PARENT), ("女兒", CHILD),
                                                       ("爺爺", EXTENDED), ("愛人", SPOUSE)])
def test_traditional_characters(traditional, relationship):
    assert classify_name(traditional).relationship == relationship


@pytest.mark.parametrize("name, category", [
    ("张哥", CLOSE), ("李姐", CLOSE), ("王叔", CLOSE), ("伟哥", CLOSE), ("干爹", CLOSE), ("乾媽", CLOSE),
    ("哥们", CLOSE), ("兄弟", CLOSE), ("阿姨", HELPER), ("王阿姨", HELPER), ("月嫂", HELPER),
    ("张总", WORK), ("王经理", WORK), ("老板", WORK), ("老板娘", WORK), ("李老师", WORK), ("刘师傅", WORK),
    ("顺丰快递", BUSINESS), ("美团外卖", BUSINESS), ("链家中介", BUSINESS), ("房东", BUSINESS), ("物业", BUSINESS),
    ("客服", BUSINESS), ("招商银行", BUSINESS), ("平安保险", BUSINESS),
    ("拍拍贷", LENDER), ("网贷催收", LENDER), ("借款王经理", LENDER), ("Loan collector", LENDER),
    ("张伯仁", PLAIN), ("刘新", PLAIN), ("", PLAIN),
])
def test_traps_and_non_kin_markers(name, category):
    assert classify_name(name).category == category


def test_new_number_marks_and_debtor_name():
    assert classify_name("儿子新号").new_marker and classify_name("儿子新").new_marker
    assert not classify_name("刘新").new_marker
    assert classify_name("小明", debtor_name="张小明").debtor_match
    assert classify_name("张小明(新)", debtor_name="张小明").debtor_match
    assert core_name("儿子 新号") == "儿子"


def test_inverse_relationship():
    assert inverse_relationship(CHILD) == PARENT  # a mother's book saying 儿子 makes her a parent
    assert inverse_relationship(PARENT) == CHILD and inverse_relationship(SPOUSE) == SPOUSE
    assert inverse_relationship(None) is None


def test_quick_scans_change_no_label(monkeypatch):
    import re

    from backend.tracing.engine import kinship

    names = ["王伟芳", "妈妈", "张哥", "王叔叔", "干妈", "阿姨", "张总", "顺丰快递", "拍拍贷", "小明新号", "Mom",
             "李经理", "大姐", "我妈新号", "张伯仁", "刘新", "儿子新", "表哥", "催收王", "王小明", "蜜蜜", "Loan Li"]
    quick = [classify_name(name, "王小明") for name in names]
    everything = re.compile("")  # matches every name, so each lexicon is walked in full as before
    for attribute in ("_ANY_KIN", "_ANY_NOT_KIN"):
        monkeypatch.setattr(kinship, attribute, everything)
    assert quick == [classify_name(name, "王小明") for name in names]
    texts = [kinship.simplify(name) for name in names]
    assert [bool(kinship._ANY_LENDER.search(text)) for text in texts] == [
        any(marker in text for marker in kinship.LENDER_MARKERS) for text in texts]


@pytest.mark.parametrize("name,cue", [
    ("小明新号", "新号"), ("小明新手机", "新手机"), ("小明 另一个号", "另一个号"), ("小明备用", "备用"),
    ("儿子新", "新"), ("小明2", "2"), ("小明(2)", "2"), ("Ming 2", "2"), ("Ming 2nd", "2"),
    ("Xiaoming new", "new"), ("Ming backup", "backup"), ("Ming spare", "spare"),
])
def test_new_or_second_number_cues(name, cue):
    label = classify_name(name)
    assert label.new_marker and label.cue == cue


@pytest.mark.parametrize("name", ["刘新", "李建新", "王小新", "Room 12", "2024", "张三", "老王"])
def test_given_names_and_numbers_are_no_cue(name):
    assert not classify_name(name).new_marker


def test_bare_new_after_the_debtors_name_is_a_cue():
    assert classify_name("小明新", debtor_name="张小明").cue == "新"
    assert not classify_name("小明新", debtor_name="李伟").new_marker


def test_core_name_drops_the_cue_to_meet_the_old_name():
    assert core_name("小明2") == core_name("小明新") == core_name("小明备用") == "小明"
    assert core_name("刘新") == "刘新"
