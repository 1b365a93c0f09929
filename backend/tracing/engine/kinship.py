"""Read relationships from names as saved in a phone book (Chinese and English)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

SPOUSE, PARENT, IN_LAW, SIBLING, CHILD, EXTENDED = "spouse", "parent", "in_law", "sibling", "child", "extended"
# Label categories: who the saved name says the contact is.
KIN, CLOSE, HELPER, WORK, BUSINESS, LENDER, PLAIN = "kin", "close", "helper", "work", "business", "lender", "plain"

# Traditional → simplified for the characters the lexicon uses; a full converter would be a new dependency.
_T2S = str.maketrans({
    "媽": "妈", "爺": "爷", "兒": "儿", "婦": "妇", "嬸": "婶", "孫": "孙", "親": "亲", "愛": "爱", "闆": "板",
    "經": "经", "師": "师", "遞": "递", "賣": "卖", "銀": "银", "險": "险", "貸": "贷", "網": "网", "號": "号",
    "們": "们", "乾": "干", "寶": "宝", "業": "业", "東": "东", "總": "总", "閨": "闺", "蜜": "蜜", "嫂": "嫂",
    "媳": "媳", "舅": "舅", "導": "导", "醫": "医", "機": "机", "員": "员", "債": "债", "務": "务", "款": "款",
    "庫": "库", "戶": "户", "買": "买", "車": "车", "裝": "装", "維": "维", "修": "修", "單": "单", "貨": "货",
    "門": "门", "學": "学", "長": "长", "姊": "姐", "婿": "婿", "姪": "侄", "表": "表", "堂": "堂", "給": "给",
})

# Longest terms first so 外婆 wins over 婆, 老公 over 公.
KIN_TERMS: dict[str, str] = {
    **dict.fromkeys(["老公", "老婆", "媳妇", "爱人", "老伴", "丈夫", "妻子", "亲爱的", "宝贝", "孩子他爸", "孩子他妈",
                     "孩子爸", "孩子妈", "宝宝爸", "宝宝妈"], SPOUSE),
    **dict.fromkeys(["爸爸", "妈妈", "老爸", "老妈", "父亲", "母亲", "爸", "妈", "爹", "娘", "老爹", "老娘", "妈咪"], PARENT),
    **dict.fromkeys(["岳父", "岳母", "丈人", "丈母娘", "公公", "婆婆", "女婿", "儿媳", "儿媳妇"], IN_LAW),
    **dict.fromkeys(["哥哥", "姐姐", "弟弟", "妹妹", "哥", "姐", "弟", "妹", "嫂子", "嫂", "姐夫", "妹夫",
                     "弟媳", "弟妹"], SIBLING),
    **dict.fromkeys(["儿子", "女儿", "闺女", "儿"], CHILD),
    **dict.fromkeys(["舅舅", "舅妈", "舅", "姨妈", "姨父", "姨", "姑姑", "姑妈", "姑父", "姑", "叔叔", "婶婶", "叔",
                     "婶", "伯伯", "伯父", "伯母", "伯", "爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "表哥",
                     "表姐", "表弟", "表妹", "堂哥", "堂姐", "堂弟", "堂妹", "侄子", "侄女", "外甥", "外甥女",
                     "孙子", "孙女", "外孙"], EXTENDED),
}
KIN_EN: dict[str, str] = {
    **dict.fromkeys(["hubby", "husband", "wife", "wifey", "honey"], SPOUSE),
    **dict.fromkeys(["mom", "mum", "mother", "mommy", "mummy", "mama", "dad", "daddy", "father", "papa"], PARENT),
    **dict.fromkeys(["father-in-law", "mother-in-law", "son-in-law", "daughter-in-law"], IN_LAW),
    **dict.fromkeys(["brother", "sister", "sis", "brother-in-law", "sister-in-law"], SIBLING),
    **dict.fromkeys(["son", "daughter"], CHILD),
    **dict.fromkeys(["grandma", "grandpa", "granny", "grandmother", "grandfather", "uncle", "aunt", "auntie",
                     "aunty", "cousin", "nephew", "niece", "grandson", "granddaughter"], EXTENDED),
}
# Names that contain a kin word but are not kin; checked before the kin lexicon.
NOT_KIN: dict[str, str] = {
    **dict.fromkeys(["干爹", "干妈", "干爸", "干儿子", "干女儿", "干哥", "干姐", "哥们", "兄弟", "姐妹", "闺蜜",
                     "发小", "bro", "buddy", "friend"], CLOSE),
    **dict.fromkeys(["阿姨", "保姆", "月嫂", "钟点工", "家政", "nanny", "maid"], HELPER),
    **dict.fromkeys(["总", "经理", "老板", "老师", "师傅", "同事", "领导", "主任", "主管", "boss", "manager",
                     "teacher", "colleague"], WORK),
    **dict.fromkeys(["快递", "外卖", "中介", "房东", "物业", "客服", "银行", "保险", "维修", "装修", "送货", "司机",
                     "courier", "delivery", "landlord", "agent", "insurance", "bank", "service"], BUSINESS),
}
LENDER_MARKERS = ("贷", "催收", "借款", "借钱", "小额", "分期", "金融", "欠款", "还款", "法务", "债",
                  "loan", "lender", "collector", "collection", "debt", "credit")
# How people save a new or second number: 小明新号, 新手机, 另一个号, 备用 (spare), 本人 (myself).
NEW_MARKERS = ("新号码", "新号", "新手机", "新电话", "新卡", "另一个号码", "另一个号", "另一号", "备用号", "备用",
               "本人", "本机", "自己")
NEW_WORDS = frozenset({"new", "me", "mine", "myself", "backup", "spare", "second", "alt", "another", "other"})
# A trailing 2 (小明2, Ming 2, 小明(2), Ming 2nd) numbers a second phone; 12 or 2024 do not.
_SECOND_NUMBER = re.compile(r"\D[\s(（]*(?:2|②|2nd)[\s)）]*$", re.IGNORECASE)
# Characters that may precede a kin word without turning it into a name + honorific (大哥, 二姐, 我妈).
_MODIFIERS = "大二三四五六七小老亲我阿的家"
_PUNCT = re.compile(r"[\s\d_–—.,·:;!?'\"()\[\]（）【】「」<>《》~@#*/\\|]+")
_WORD = re.compile(r"[a-z]+(?:-in-law)?")
_CJK_TERMS = sorted(KIN_TERMS, key=len, reverse=True)
_CJK_NOT_KIN = {term: category for term, category in NOT_KIN.items() if not term.isascii()}


def _any_of(terms) -> re.Pattern:
    """Return a pattern that finds any of the terms: one scan to rule out the many names with none."""
    return re.compile("|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True)))


_ANY_KIN, _ANY_NOT_KIN, _ANY_LENDER = _any_of(KIN_TERMS), _any_of(_CJK_NOT_KIN), _any_of(LENDER_MARKERS)


class NameLabel(NamedTuple):
    """What a saved name says: category, relationship (kin only), matched term, confidence, self-marks.

    `cue` is the part of the name that marks a new or second number (新号, 备用, 2, new), if any.
    """

    category: str
    relationship: str | None = None
    term: str | None = None
    confidence: float = 0.0
    new_marker: bool = False
    debtor_match: bool = False
    cue: str | None = None


PLAIN_LABEL = NameLabel(PLAIN)


def simplify(name: str) -> str:
    """Map traditional characters to simplified, lower-case, and drop punctuation and digits."""
    return _PUNCT.sub("", name.translate(_T2S).lower())


def has_new_marker(text: str) -> bool:
    """Tell whether a simplified name marks a new number (新号, 本人, 儿子新)."""
    return new_number_cue(text) is not None


def new_number_cue(text: str, raw: str = "") -> str | None:
    """Return the mark of a new or second number in a name (simplified `text`, as saved `raw`), if any."""
    for marker in NEW_MARKERS:
        if marker in text:
            return marker
    # A bare 新 is common in given names (刘新, 李建新); only trust it right after a kin word.
    if len(text) > 1 and text.endswith("新") and text[:-1] in KIN_TERMS:
        return "新"
    lower = raw.lower()
    if raw and _SECOND_NUMBER.search(raw):
        return "2"
    words = _WORD.findall(lower)
    return next((word for word in words if word in NEW_WORDS), None)


def matches_debtor(text: str, debtor_name: str | None) -> bool:
    """Tell whether a simplified name contains the debtor's full name or a two-character given name."""
    if not debtor_name:
        return False
    full, given = _debtor_forms(debtor_name)
    return bool(full) and (full in text or (len(given) >= 2 and given in text))


@lru_cache(maxsize=64)
def _debtor_forms(debtor_name: str) -> tuple[str, str]:
    """Return the debtor's simplified full name and given name (computed once per trace, not per contact)."""
    full = simplify(debtor_name)
    return full, full[1:] if len(full) >= 3 and not full.isascii() else ""


def english_label(text: str) -> NameLabel | None:
    """Label a name written in English, word by word."""
    for word in _WORD.findall(text):
        if word in KIN_EN:
            return NameLabel(KIN, KIN_EN[word], word, 0.9)
        if word in NOT_KIN:
            return NameLabel(NOT_KIN[word], None, word, 0.6)
    return None


def kin_label(text: str) -> NameLabel | None:
    """Find a Chinese kin word; a name before it (张哥, 伟哥, 王叔) makes it an honorific for a non-relative."""
    if not _ANY_KIN.search(text):
        return None
    for term in _CJK_TERMS:
        at = text.find(term)
        if at < 0:
            continue
        prefix = text[:at].strip(_MODIFIERS)
        suffix = text[at + len(term):].strip(_MODIFIERS)
        if prefix and not prefix.isascii():
            # 张哥 / 王叔 is a close non-relative; 张伯仁 is just a given name with a kin character in it.
            return None if suffix and not has_new_marker(suffix) else NameLabel(CLOSE, None, text[: at + len(term)], 0.6)
        exact = text == term or text[at:] == term and not prefix
        return NameLabel(KIN, KIN_TERMS[term], term, 0.95 if exact and len(term) > 1 else 0.85)
    return None


def classify_name(name: str | None, debtor_name: str | None = None) -> NameLabel:
    """Label a saved name: kin with relationship, close friend, helper, work, business, lender or plain."""
    if not name:
        return PLAIN_LABEL
    text, lower = simplify(name), name.lower()
    cue = new_number_cue(text, name)
    debtor_match = matches_debtor(text, debtor_name)
    if cue is None and debtor_match and text.endswith("新"):
        cue = "新"  # 小明新 for 张小明: after the debtor's own name a bare 新 is a mark, not a given name
    if _ANY_LENDER.search(text):
        return NameLabel(LENDER, None, name, 0.9, cue is not None, debtor_match, cue)
    label = None if text.isascii() else _not_kin(text) or kin_label(text.replace("-", ""))
    category, relationship, term, confidence, *_marks = label or english_label(lower) or PLAIN_LABEL
    return NameLabel(category, relationship, term, confidence, cue is not None, debtor_match, cue)


def _not_kin(text: str) -> NameLabel | None:
    """Match the traps and non-kin markers (干妈, 阿姨, 张总, 快递) before the kin lexicon sees them."""
    if not _ANY_NOT_KIN.search(text):
        return None
    for term, category in _CJK_NOT_KIN.items():
        if term in text:
            return NameLabel(category, None, term, 0.7)
    return None


INVERSE = {SPOUSE: SPOUSE, PARENT: CHILD, CHILD: PARENT, SIBLING: SIBLING, IN_LAW: IN_LAW, EXTENDED: EXTENDED}


def inverse_relationship(relationship: str | None) -> str | None:
    """Return what the book's owner is to the debtor when the book saves the debtor as `relationship`."""
    return INVERSE.get(relationship)


_NEW_MARKERS_LONGEST_FIRST = sorted(NEW_MARKERS, key=len, reverse=True)  # sorted once, not per name


def core_name(name: str | None) -> str:
    """Return a saved name without new-number marks, to compare 儿子 with 儿子新号, 小明 with 小明2 or 小明新.

    Digits go with simplify(); a trailing 新 goes too, so it only ever matches the name the same book
    gives the old number (李建新 stays 李建 and meets no old name).
    """
    text = simplify(name or "")
    for marker in _NEW_MARKERS_LONGEST_FIRST:
        text = text.replace(marker, "")
    return text[:-1] if len(text) > 2 and text.endswith("新") else text
