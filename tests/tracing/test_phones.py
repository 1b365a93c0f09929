"""Phone normalisation and classification, including ranges libphonenumber once got wrong."""

from __future__ import annotations

import re

import pytest

from backend.tracing.engine.phones import (
    FIXED,
    INVALID,
    MOBILE,
    SERVICE,
    UNPARSEABLE,
    Normalizer,
    parse_phone,
)


@pytest.mark.parametrize("raw", [
    "13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "8613812345678", "(+86)138-1234-5678",
    "１３８１２３４５６７８", "＋８６ １３８１２３４５６７８", "1795113812345678", "1259313812345678", "138 1234-5678",
    "13812345678转123", "138.1234.5678",
])
def test_mobile_spellings_normalise_to_one_e164(raw):
    assert parse_phone(raw, "CN")[:2] == ("+8613812345678", MOBILE)


@pytest.mark.parametrize("prefix", ["191", "199", "149", "171", "173", "162", "165", "192"])
def test_newer_chinese_mobile_ranges_are_valid_and_domestic(prefix):
    phone = parse_phone(prefix + "12345678", "CN")
    assert phone == ("+86" + prefix + "12345678", MOBILE, "CN")


@pytest.mark.parametrize("raw", ["010-12345678", "(010)1234 5678", "17951 010 12345678", "0755-8888 6666转801"])
def test_landlines_with_area_code_and_extension(raw):
    phone = parse_phone(raw, "CN")
    assert phone.kind == FIXED and phone.e164.startswith("+86")


@pytest.mark.parametrize("raw", ["95588", "10086", "12345", "12306", "110", "106902312345", "4008001234",
                                 "800-800-1234", "+86 95588"])
def test_service_numbers(raw):
    assert parse_phone(raw, "CN").kind == SERVICE


@pytest.mark.parametrize("raw, kind", [("abc", UNPARSEABLE), ("", UNPARSEABLE), (None, UNPARSEABLE),
                                       ("138abc5678", UNPARSEABLE), ("12345678", INVALID),
                                       ("14012345678", INVALID)])
def test_junk(raw, kind):
    assert parse_phone(raw, "CN").kind == kind


def test_default_region_is_an_argument():
    assert parse_phone("020 7946 0958", "GB")[:2] == ("+442079460958", FIXED)
    assert parse_phone("+44 20 7946 0958", "CN").region == "GB"


def test_each_distinct_string_parsed_once():
    normalizer = Normalizer("CN")
    for raw in ["13812345678", "+86 138 1234 5678", "13812345678", "138 1234 5678", "13812345678"] * 100:
        normalizer(raw)
    assert len(normalizer.raw_cache) == 3 and normalizer.parsed == 1  # all spellings reduce to one number
    assert normalizer.e164("95588") is None and normalizer.e164("13812345678") == "+8613812345678"


def test_plain_mobile_shortcut_matches_the_library():
    from phonenumbers import parse

    from backend.tracing.engine.phones import _CN_PLAIN_MOBILE, _parse

    tried = 0
    for prefix in range(100, 200):
        for tail in ("00000000", "12345678", "99999999", "00010000", "80088000"):
            digits = f"{prefix}{tail}"
            assert _parse(digits, "CN") == parse(digits, "CN"), digits
            tried += bool(_CN_PLAIN_MOBILE.fullmatch(digits))
    assert tried >= 300  # the shortcut was actually taken


def test_compiled_number_types_match_the_library():
    import random

    import phonenumbers

    from backend.tracing.engine.phones import NumberTypes

    rng, seen = random.Random(9), set()
    for region, code, length in (("CN", 86, 11), ("CN", 86, 12), ("CN", 86, 10), ("CN", 86, 8)):  # 86 is CN only
        types = NumberTypes(region, length)
        for prefix in range(10_000):  # every 4-digit start, a few random tails each
            for _ in range(3):
                digits = f"{prefix:04d}{rng.randrange(10 ** (length - 4)):0{length - 4}d}".lstrip("0")
                if len(digits) != length:
                    continue
                expected = phonenumbers.number_type(phonenumbers.PhoneNumber(country_code=code,
                                                                             national_number=int(digits)))
                assert types(digits) == expected, (region, digits)
                seen.add(expected)
    assert len(seen) >= 4  # mobiles, fixed lines, service types and invalid numbers were all compared


def test_compiled_short_numbers_match_the_library():
    import random

    from phonenumbers import PhoneNumber, shortnumberinfo

    from backend.tracing.engine.phones import ShortNumbers

    rng, short, answers = random.Random(5), ShortNumbers("CN"), set()
    for length in range(3, 13):
        for _ in range(3000):
            digits = str(rng.randrange(10 ** (length - 1), 10 ** length))
            expected = shortnumberinfo.is_valid_short_number(PhoneNumber(country_code=86, national_number=int(digits)))
            assert short(digits) == expected, digits
            answers.add(expected)
    for digits in ("110", "120", "12345", "95588", "10086"):
        assert short(digits) == shortnumberinfo.is_valid_short_number(
            PhoneNumber(country_code=86, national_number=int(digits)))
    assert answers == {True, False}


def test_plain_mobile_fast_path_matches_the_library_path():
    import random

    import phonenumbers

    from backend.tracing.engine.phones import _CN_PLAIN_MOBILE, Phone, classify

    rng = random.Random(4)
    kinds = set()
    for prefix in range(1000, 2000):
        for _ in range(3):
            digits = f"{prefix}{rng.randrange(10 ** 7):07d}"
            if not _CN_PLAIN_MOBILE.fullmatch(digits):
                continue
            number = phonenumbers.parse(digits, "CN")
            expected = Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                             classify(number), phonenumbers.region_code_for_number(number))
            assert parse_phone(digits, "CN") == expected, digits
            kinds.add(expected.kind)
    assert {MOBILE, "invalid"} <= kinds


def test_normalizer_shortcut_for_plain_mobiles_matches_parse_phone():
    import random

    from backend.tracing.engine.phones import _CN_PLAIN_MOBILE

    rng = random.Random(5)
    raws, plain = [], 0
    for prefix in range(100, 200):
        digits = f"{prefix}{rng.randrange(10 ** 8):08d}"
        plain += bool(_CN_PLAIN_MOBILE.fullmatch(digits))
        raws += [digits, f"+86{digits}", f"86{digits}", f"0086{digits}", f"17951{digits}", f"{digits[:3]} {digits[3:]}"]
    normalizer = Normalizer("CN")
    assert [normalizer(raw) for raw in raws] == [parse_phone(raw, "CN") for raw in raws]
    assert plain >= 50  # the shortcut was actually taken


@pytest.mark.parametrize("raw", ["13812345678", "0", "17951013812345678", "1795113812345678", "١٣٨١٢٣٤٥٦٧٨",
                                 "+8613812345678", "138-1234-5678", "96688013812345678", "10193123",
                                 "13812345678转123", "138-1234-5678 Ext. 12", "(+86) 138 1234 5678 #9", "０１０ 1234"])
def test_clean_and_ip_prefix_shortcuts_keep_their_meaning(raw):
    import unicodedata

    from backend.tracing.engine import phones
    from backend.tracing.engine.phones import CN_IP_PREFIXES, clean, strip_ip_prefix

    text = phones._SEPARATORS.sub("", phones._EXTENSION.sub("", unicodedata.normalize("NFKC", raw).strip()))
    assert clean(raw) == (text if re.fullmatch(r"\+?\d+", text) else "")
    expected = next((digits[len(p):] for digits in [raw] for p in CN_IP_PREFIXES
                     if digits.startswith(p) and digits[len(p):][:1] in ("0", "1")
                     and 10 <= len(digits[len(p):]) <= 14), raw)
    assert strip_ip_prefix(raw) == expected


def test_plain_keys_match_clean_and_canonical():
    import random

    from backend.tracing.engine.phones import CN_IP_PREFIXES, clean, cn_canonical, plain_keys

    rng = random.Random(3)
    raws = ["", " ", "+", "+8613812345678", "008613812345678", "86 138 1234 5678", "(+86)138-1234-5678",
            "17951 13812345678", "17951013812345678", "+17951013812345678", "0086 010 6234 5678", "...", "95588"]
    for _ in range(3000):
        raws.append("".join(rng.choice("0123456789+ ()-.") for _ in range(rng.randint(0, 20))))
        raws.append(rng.choice((*CN_IP_PREFIXES, "86", "0086", "+86", "")) + rng.choice("01")
                    + "".join(rng.choice("0123456789 -") for _ in range(rng.randint(6, 14))))
    for region in ("CN", "GB"):
        expected = [cn_canonical(clean(raw)) if clean(raw) and region == "CN" else clean(raw) for raw in raws]
        assert plain_keys(raws, region) == expected
    assert plain_keys(["１３８", "138\t1234", "138/1234", "13812345678转1"], "CN") == [None] * 4  # left to clean()


@pytest.mark.parametrize("plain_keys_min", [0, 5_000], ids=["polars", "python"])
def test_many_matches_one_by_one(monkeypatch, plain_keys_min):
    from backend.tracing.engine import phones

    monkeypatch.setattr(phones, "PLAIN_KEYS_MIN", plain_keys_min)  # both ways of cleaning a batch
    raws = ["13812345678", "+86 138 1234 5678", "１３８１２３４５６７８", "95588", "abc", "", "010-62345678",
            "17951 13912345678", "13812345678转123", "+44 20 7946 0958"]
    one, batch = Normalizer("CN"), Normalizer("CN")
    assert batch.many(raws[:4]) + batch.many(raws)[4:] == [one(raw) for raw in raws]
    assert (batch.raw_cache, batch.clean_cache, batch.parsed) == (one.raw_cache, one.clean_cache, one.parsed)


def test_trunk_and_179_keys_typed_on_their_digits_match_the_library():
    import random

    from backend.tracing.engine.phones import cn_phone, library_phone

    rng = random.Random(6)
    keys = [f"179{rng.randrange(10 ** 8):08d}" for _ in range(300)]
    keys += [f"179{xx:02d}00{rng.randrange(10 ** 4):04d}" for xx in range(100)]  # an international call: library
    for area in range(10, 100):
        for length in (10, 11, 12):
            keys += [f"0{area}{fill * (length - 3)}" for fill in "09"]
            keys += [f"0{area}{rng.randrange(10 ** (length - 3)):0{length - 3}d}" for _ in range(3)]
    kinds = set()
    for key in keys:
        expected = library_phone(key, "CN")
        phone = cn_phone(key)
        if phone is None:
            assert key.startswith("179") and key[5:7] == "00", key
        elif key.startswith("0106"):  # the library's path reads these as 106 bulk-SMS senders: see the test below
            assert phone[::2] == expected[::2], key
        else:
            assert phone == expected, key
        kinds.add(expected.kind)
    assert {FIXED, INVALID, SERVICE} <= kinds


def test_a_beijing_landline_from_6_is_a_line_not_a_bulk_sms_sender():
    assert parse_phone("010-6234 5678", "CN")[:2] == ("+861062345678", FIXED)
    assert parse_phone("(010) 6881 9915", "CN").kind == FIXED
    assert parse_phone("106902312345", "CN").kind == SERVICE  # dialled without the trunk 0: a sender


def test_plain_mobile_kinds_by_prefix_match_the_full_classification():
    from backend.tracing.engine import phones
    from backend.tracing.engine.phones import (
        _CN_MOBILE_TYPES,
        _plain_kinds,
        _widened,
        classify_cn,
        classify_plain_cn,
    )

    # The table holds only prefixes proved from the metadata (phones._plain_kinds): today nearly all of them.
    assert not any(phones._UNPROVABLE.search(pattern) for pattern in phones._asked_patterns())
    table = _plain_kinds()
    assert len(table) > 6_000
    for prefix, kind in table.items():
        for tail in ("000000", "583921", "999999"):
            assert classify_cn(prefix + tail, _CN_MOBILE_TYPES) == kind, prefix + tail
    assert classify_plain_cn("14012345678") == INVALID and classify_plain_cn("17400012345") == MOBILE
    # A range decided at the sixth digit, inside 17406, is caught by the proof (and 17406 left out).
    deeper = r"1740[0-5]\d{6}|17406[2-5]\d{5}"
    any_digits, some_digits = _widened(deeper, False), _widened(deeper, True)
    assert any_digits.fullmatch("17401XXXXXX") and not some_digits.fullmatch("17407XXXXXX")
    assert not any_digits.fullmatch("17406XXXXXX") and some_digits.fullmatch("17406XXXXXX")


def test_a_prefix_the_metadata_decides_further_in_is_classified_in_full(monkeypatch):
    from backend.tracing.engine import phones

    real = phones._asked_patterns
    monkeypatch.setattr(phones, "_asked_patterns", lambda: [*real(), r"1740[0-5]\d{6}|17406[2-5]\d{5}"])
    monkeypatch.setattr(phones, "_PLAIN_KINDS", None)
    table = phones._plain_kinds()
    assert "17406" not in table and "17405" in table and len(table) > 6_000
    monkeypatch.setattr(phones, "_asked_patterns", lambda: [*real(), r"1\d.\d{8}"])  # a wildcard: unprovable
    assert phones._plain_kinds() == {}
    assert phones.classify_plain_cn("13812345678") == phones.MOBILE  # classified in full


def test_quick_key_is_clean_then_canonical_or_nothing():
    import random
    import unicodedata

    from backend.tracing.engine import phones
    from backend.tracing.engine.phones import clean, cn_canonical, quick_cn_key

    for char, mapped in phones._QUICK.items():  # the table does what NFKC and the separators would
        nfkc = unicodedata.normalize("NFKC", chr(char))
        assert nfkc == mapped if mapped is not None else phones._SEPARATORS.fullmatch(nfkc.strip() or " ")
    rng = random.Random(7)
    alphabet = "0123456789０１２３４５６７８９ -()+＋（）.转x#٣"
    raws = ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "８６１３８１２３４５６７８", "1795113812345678",
            "+13812345678", "86 179 1234 5678", "１３８　１２３４　５６７８", "138-1234-5678转1"]
    for _ in range(4000):
        body = rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        raws.append(rng.choice(("", "+86", "86", "0086", "+", "＋８６")) + "1" + "".join(
            ch + rng.choice(alphabet) if rng.random() < 0.1 else ch for ch in body))
    quick = 0
    for raw in raws:
        key = quick_cn_key(raw)
        if key is not None:
            quick += 1
            assert key == cn_canonical(clean(raw)), raw
    assert quick > 1000
