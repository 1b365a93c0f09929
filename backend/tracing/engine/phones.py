"""Normalise raw phone strings to E.164 and classify them (person, service, invalid)."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber, PhoneNumberType, shortnumberinfo

# Keep the metadata patterns compiled rather than looking each up in re's bounded cache on every use
# (about a fifth of number_type's time); older phonenumbers releases lack the switch.
if hasattr(phonenumbers, "enable_pattern_cache"):
    phonenumbers.enable_pattern_cache()

# Kinds a parsed number can have; only PERSON_KINDS can belong to someone we may contact.
MOBILE, FIXED, OTHER, SERVICE, INVALID, UNPARSEABLE = (
    "mobile", "fixed", "other", "service", "invalid", "unparseable",
)
PERSON_KINDS = frozenset({MOBILE, FIXED, OTHER})

# Carrier IP-dial prefixes: dialled before a long-distance number to route it cheaply.
CN_IP_PREFIXES = (
    "17951", "17911", "17901", "17908", "17909", "17921", "17931", "17969", "12593", "10193", "11808", "96688",
)
# Mobile ranges in use that libphonenumber metadata has missed or still misses (149: data/voice SIMs).
CN_EXTRA_MOBILE = re.compile(r"149\d{8}")
# Chinese service ranges, on the national significant number.
CN_SERVICE = re.compile(
    r"1\d{2}"            # 110, 114, 120 ...
    r"|95\d{3,6}"        # 95588 bank and utility lines
    r"|100\d{2,3}"       # 10086, 10010, 10000 carriers
    r"|12\d{3,4}"        # 12345, 12306, 12315 government lines
    r"|106\d{2,17}"      # 106xx bulk SMS senders
    r"|[48]00\d{7}"      # 400 / 800 company lines
)
SERVICE_TYPES = frozenset({
    PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.UAN,
})
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

_EXTENSION = re.compile(r"(转|轉|分机|分機|ext\.?|extension|x|#|,|;|p|w).*$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-–—().\[\]/·_'\"]+")
_DIALLABLE = re.compile(r"\+?\d+")
# Digits, '+' and separators only: no extension marker can be present, so the extension scan is skipped.
_NO_EXTENSION = re.compile(r"[\d\s+\-–—().\[\]/·_'\"]*")
_IP_PREFIXES = frozenset(CN_IP_PREFIXES)
_IP_PREFIX_LENGTHS = sorted({len(prefix) for prefix in CN_IP_PREFIXES})
# Plain Chinese mobile digits: nothing for libphonenumber to strip (no IDD 00/1[12]xx/179xx, no trunk 0, no 86),
# so parsing them yields country code 86 and the digits as they are; tests check this against the library.
_CN_PLAIN_MOBILE = re.compile(r"1(?:[3-68]\d|7[0-8]|9\d)\d{8}")


class Phone(NamedTuple):
    """One normalised number: E.164 (None when unparseable), kind and region code."""

    e164: str | None
    kind: str
    region: str | None = None


UNPARSED = Phone(None, UNPARSEABLE)


def clean(raw: str) -> str:
    """Reduce a raw string to '+' and ASCII digits; return '' if letters or other junk remain."""
    if raw.isascii() and raw.isdigit():  # already clean: the common case, skip the normalisation
        return raw
    text = unicodedata.normalize("NFKC", raw).strip()  # full-width digits, '＋', '（）' become ASCII
    if not _NO_EXTENSION.fullmatch(text):
        text = _EXTENSION.sub("", text)
    text = _SEPARATORS.sub("", text)
    return text if _DIALLABLE.fullmatch(text) else ""


def strip_ip_prefix(digits: str) -> str:
    """Drop a Chinese carrier IP-dial prefix put in front of a full number."""
    for length in _IP_PREFIX_LENGTHS:  # prefixes are distinct, so at most one can match
        rest = digits[length:]
        if digits[:length] in _IP_PREFIXES and rest[:1] in ("0", "1") and 10 <= len(rest) <= 14:
            return rest
    return digits


_CN_PREFIXED = re.compile(r"(?:\+86|0086|86)(1\d{10}|0[1-9]\d{8,10})")


def cn_canonical(text: str) -> str:
    """Reduce a cleaned Chinese number to one spelling (national digits), so each number is parsed once."""
    if not text.startswith("+"):
        text = strip_ip_prefix(text)
    match = _CN_PREFIXED.fullmatch(text)
    return match.group(1) if match else text  # landlines keep their trunk 0


class NumberTypes:
    """phonenumbers.number_type for one region and one number length, with the metadata compiled into one regex.

    number_type looks the region and metadata up again and tries up to eleven patterns one by one (about
    two thirds of an everyday trace's parsing time); here the patterns that admit the length are joined, in
    the library's order, into one alternation whose first full match names the type. Exactly the library's
    answer for numbers of that region and length (tests compare them).
    """

    _ORDER = (("premium_rate", PhoneNumberType.PREMIUM_RATE), ("toll_free", PhoneNumberType.TOLL_FREE),
              ("shared_cost", PhoneNumberType.SHARED_COST), ("voip", PhoneNumberType.VOIP),
              ("personal_number", PhoneNumberType.PERSONAL_NUMBER), ("pager", PhoneNumberType.PAGER),
              ("uan", PhoneNumberType.UAN), ("voicemail", PhoneNumberType.VOICEMAIL))

    def __init__(self, region: str, length: int):
        metadata = PhoneMetadata.metadata_for_region(region)
        self.length = length
        self.general = self._pattern(metadata.general_desc, length)
        self.mobile = self._pattern(metadata.mobile, length)
        self.same_fixed_and_mobile = metadata.same_mobile_and_fixed_line_pattern
        branches = [(name, self._pattern(getattr(metadata, name), length)) for name, _type in self._ORDER]
        branches.append(("fixed_line", self._pattern(metadata.fixed_line, length)))
        if not self.same_fixed_and_mobile:
            branches.append(("mobile", self.mobile))
        self.types = {name: kind for name, kind in self._ORDER}
        self.types["mobile"] = PhoneNumberType.MOBILE
        alternatives = [f"(?P<{name}>{pattern.pattern})" for name, pattern in branches if pattern is not None]
        self.any = re.compile("|".join(alternatives)) if alternatives else None

    @staticmethod
    def _pattern(desc, length: int) -> re.Pattern | None:
        """The desc's pattern when a number of this length may match it (as _is_number_matching_desc decides)."""
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and length not in desc.possible_length:
            return None
        return re.compile(desc.national_number_pattern)

    def __call__(self, national: str) -> PhoneNumberType:
        """The type of a national significant number of this region and length."""
        if self.general is None or not self.general.fullmatch(national) or self.any is None:
            return PhoneNumberType.UNKNOWN
        match = self.any.fullmatch(national)
        if match is None:
            return PhoneNumberType.UNKNOWN
        if match.lastgroup != "fixed_line":
            return self.types[match.lastgroup]
        if self.same_fixed_and_mobile or (self.mobile is not None and self.mobile.fullmatch(national)):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE


class ShortNumbers:
    """shortnumberinfo.is_valid_short_number for a region that has its calling code to itself (CN: 86),
    with the two patterns it tries compiled once. Exactly the library's answer there (tests compare them)."""

    def __init__(self, region: str):
        metadata = PhoneMetadata.short_metadata_for_region(region)
        self.descs = [self._desc(metadata.general_desc), self._desc(metadata.short_code)]

    @staticmethod
    def _desc(desc) -> tuple[frozenset[int], re.Pattern | None]:
        if desc is None or not desc.national_number_pattern:
            return frozenset(), None
        return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)

    def __call__(self, national: str) -> bool:
        for lengths, pattern in self.descs:
            if pattern is None or (lengths and len(national) not in lengths) or not pattern.fullmatch(national):
                return False
        return True


_CN_MOBILE_TYPES = NumberTypes("CN", 11)
_CN_SHORT = ShortNumbers("CN")


def classify(number: phonenumbers.PhoneNumber) -> str:
    """Return the kind of a parsed number."""
    national = str(number.national_number)
    if number.country_code == 86 and CN_SERVICE.fullmatch(national):
        return SERVICE
    kind = _kind_of_type(phonenumbers.number_type(number))  # UNKNOWN exactly when the number is not valid
    if kind is not None:
        return kind
    if number.country_code == 86 and CN_EXTRA_MOBILE.fullmatch(national):
        return MOBILE
    return SERVICE if shortnumberinfo.is_valid_short_number(number) else INVALID


def classify_plain_cn(national: str) -> str:
    """classify() for a plain Chinese mobile-range number (_CN_PLAIN_MOBILE), on its digits: the same
    steps with the metadata compiled, and no PhoneNumber built. Most numbers of a trace go this way."""
    kind = (_PLAIN_KINDS if _PLAIN_KINDS is not None else _plain_kinds()).get(national[:5])
    return kind if kind is not None else classify_cn(national, _CN_MOBILE_TYPES)


# Plain mobile → kind by its first five digits, for the prefixes where that is proved from the metadata: every
# pattern classify_cn() asks about an 11-digit number answers alike for all six digits that follow (today the
# longest range, 1740[0-5], ends at the fifth digit). A prefix the proof cannot vouch for (a newer
# phonenumbers may bring ranges decided further in) is left out and classified in full. Built once a process
# (~7,000 prefixes, tens of ms, at import through the engine's warm-up), then one lookup a number.
_PLAIN_PREFIX = re.compile(r"1(?:[3-68]\d|7[0-8]|9\d)\d\d")
_PLAIN_KINDS: dict[str, str] | None = None  # built by _plain_kinds()
# What _widened() understands: no wildcard, negated or multi-digit class, lookaround or backreference.
_UNPROVABLE = re.compile(r"\.|\\[DSWw1-9]|\[\^|\(\?[=!<]")


def _widened(pattern: str, every_digit: bool) -> re.Pattern:
    """A metadata pattern that also takes 'X' where it takes any digit (\\d), or, every_digit, wherever it
    takes a digit at all. X in the first means "whatever digits"; a miss in the second means "no digits"."""
    out, at = [], 0
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            out.append("[\\dX]" if pattern[at:at + 2] == "\\d" else pattern[at:at + 2])
            at += 2
        elif char in "[{":
            end = pattern.index("]" if char == "[" else "}", at)
            out.append(pattern[at:end] + "X]" if char == "[" and every_digit else pattern[at:end + 1])
            at = end + 1
        else:
            out.append(f"[{char}X]" if every_digit and char.isdigit() else char)
            at += 1
    return re.compile("".join(out))


def _asked_patterns() -> list[str]:
    """Every pattern classify_cn() asks about an 11-digit number from 1."""
    types, metadata = _CN_MOBILE_TYPES, PhoneMetadata.metadata_for_region("CN")
    asked = [CN_SERVICE, CN_EXTRA_MOBILE, types.general, types.mobile, types._pattern(metadata.fixed_line, 11),
             *(pattern for _lengths, pattern in _CN_SHORT.descs),
             *(types._pattern(getattr(metadata, name), 11) for name, _type in types._ORDER)]
    return [pattern.pattern for pattern in asked if pattern is not None]


def _plain_kinds() -> dict[str, str]:
    global _PLAIN_KINDS
    kinds: dict[str, str] = {}
    asked = _asked_patterns()
    if not any(_UNPROVABLE.search(pattern) for pattern in asked):  # else nothing is proved: all in full
        proofs = [(_widened(pattern, False), _widened(pattern, True)) for pattern in asked]
        for n in range(10_000, 20_000):
            prefix = str(n)
            open_tail = prefix + "X" * 6
            if _PLAIN_PREFIX.fullmatch(prefix) and all(
                    any_digits.fullmatch(open_tail) or not some_digits.fullmatch(open_tail)
                    for any_digits, some_digits in proofs):
                kinds[prefix] = classify_cn(prefix + "000000", _CN_MOBILE_TYPES)
    _PLAIN_KINDS = kinds  # whole or not at all: a thread reading meanwhile builds its own
    return kinds


def classify_cn(national: str, types: NumberTypes | None = None, *, trunk: bool = False) -> str:
    """classify() of a number the library reads as +86 and these national digits, without building a
    PhoneNumber. `trunk`: it was written with the trunk 0, so it is a landline and never a 106 bulk-SMS
    sender (Beijing's 010-6xxx xxxx would otherwise read as one)."""
    if CN_SERVICE.fullmatch(national) and not (trunk and national.startswith("106")):
        return SERVICE
    kind = _kind_of_type((types or _cn_types(len(national)))(national))
    if kind is not None:
        return kind
    if CN_EXTRA_MOBILE.fullmatch(national):
        return MOBILE
    return SERVICE if _CN_SHORT(national) else INVALID


_CN_TYPES: dict[int, NumberTypes] = {}


def _cn_types(length: int) -> NumberTypes:
    found = _CN_TYPES.get(length)
    if found is None:
        found = _CN_TYPES[length] = NumberTypes("CN", length)
    return found


def _kind_of_type(ntype: PhoneNumberType) -> str | None:
    """The kind of a valid number's type; None for UNKNOWN (not a valid number)."""
    if ntype == PhoneNumberType.UNKNOWN:
        return None
    if ntype in SERVICE_TYPES:
        return SERVICE
    if ntype in MOBILE_TYPES:
        return MOBILE
    return FIXED if ntype == PhoneNumberType.FIXED_LINE else OTHER


def parse_phone(raw: str | None, default_region: str = "CN") -> Phone:
    """Normalise one raw string (no cache)."""
    text = clean(raw or "")
    if not text:
        return UNPARSED
    if default_region == "CN":
        text = cn_canonical(text)
        phone = cn_phone(text)
        if phone is not None:  # what library_phone() gives, several times faster
            return phone
    return library_phone(text, default_region)


def library_phone(text: str, default_region: str) -> Phone:
    """Parse cleaned digits with the library and classify them."""
    try:
        number = _parse(text, default_region)
    except NumberParseException:
        return UNPARSED
    kind = classify(number)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, kind, phonenumbers.region_code_for_number(number))


# Canonical Chinese keys the library reads as +86 and the digits (less a trunk 0), with nothing else to strip:
# landlines written with their trunk 0, and 11-digit numbers from 179 (no carrier code strips from those).
# Tests compare cn_phone() with library_phone() for every area-code prefix. Keys from 11 and 12 are left to
# the library: it reads some as carrier selection codes followed by an international number.
_CN_TRUNK = re.compile(r"0[1-9]\d{8,10}")
_CN_179 = re.compile(r"179\d\d(?!00)\d{6}")  # 179xx then 00 is an international call


def cn_phone(key: str) -> Phone | None:
    """The Phone of a canonical Chinese key typed on its digits, or None when the library must parse it."""
    if _CN_PLAIN_MOBILE.fullmatch(key):
        return Phone("+86" + key, classify_plain_cn(key), "CN")
    if _CN_TRUNK.fullmatch(key):
        return Phone("+86" + key[1:], classify_cn(key[1:], trunk=True), "CN")
    if _CN_179.fullmatch(key):
        return Phone("+86" + key, classify_cn(key), "CN")
    return None


# quick_cn_key(): the separators clean() drops (ASCII and full-width) are deleted and full-width digits and
# plus become ASCII, as NFKC would make them; anything else stays and sends the string to clean().
_QUICK = str.maketrans({**{chr(0xFF10 + d): str(d) for d in range(10)}, "＋": "+",
                        **dict.fromkeys(" \t-–—().[]/·_'\"（）－　", None)})
_QUICK_MOBILE = re.compile(r"(?:\+86|0086|86)?(1(?:[3-68][0-9]|7[0-8]|9[0-9])[0-9]{8})")


def quick_cn_key(raw: str) -> str | None:
    """cn_canonical(clean(raw)) for a plain Chinese mobile however spaced, with or without +86, in one pass;
    None for anything else (tests compare it with the long way)."""
    match = _QUICK_MOBILE.fullmatch(raw.translate(_QUICK))
    return match.group(1) if match else None


def _parse(text: str, default_region: str) -> PhoneNumber:
    """Parse cleaned digits, building plain Chinese mobiles directly: the same result, several times faster."""
    if default_region == "CN" and _CN_PLAIN_MOBILE.fullmatch(text):
        return PhoneNumber(country_code=86, national_number=int(text))
    return phonenumbers.parse(text, default_region)


def plain_keys(raws: list[str], default_region: str) -> list[str | None]:
    """Return the Normalizer key of each raw string made only of ASCII digits, '+', spaces and ( ) - . marks.

    For those clean() just drops the marks and cn_canonical() works on ASCII digits, so polars can do both for
    thousands of strings at once; any other string gets None and goes through clean() in Python.
    """
    if len(_IP_PREFIX_LENGTHS) != 1:  # the vectorised strip below assumes prefixes of one length
        return [None] * len(raws)
    key, width = pl.col("key"), _IP_PREFIX_LENGTHS[0]
    frame = pl.LazyFrame({"raw": raws}, schema={"raw": pl.String}).with_columns(
        plain=pl.col("raw").str.contains(r"^[0-9+ ()\-.]*$"), key=pl.col("raw").str.replace_all(r"[ ()\-.]", ""))
    frame = frame.with_columns(key=pl.when(key.str.contains(r"^\+?[0-9]+$")).then(key).otherwise(pl.lit("")))
    if default_region == "CN":  # cn_canonical(): carrier IP prefix first, then +86 / 0086 / 86
        rest = key.str.slice(width)
        ip = (~key.str.starts_with("+") & key.str.slice(0, width).is_in(list(CN_IP_PREFIXES))
              & rest.str.slice(0, 1).is_in(["0", "1"]) & rest.str.len_bytes().is_between(10, 14))
        frame = frame.with_columns(key=pl.when(ip).then(rest).otherwise(key)).with_columns(
            key=key.str.replace(r"^(?:\+86|0086|86)(1[0-9]{10}|0[1-9][0-9]{8,10})$", "${1}"))
    return frame.select(pl.when("plain").then(key)).collect().to_series().to_list()


# Below this many new raw strings, Normalizer.many cleans them in Python: polars' fixed costs would dominate.
PLAIN_KEYS_MIN = 5_000


class Normalizer:
    """Cache of raw string → Phone: a call record repeats a few hundred numbers, each is parsed once."""

    def __init__(self, default_region: str = "CN"):
        self.default_region = default_region
        self.raw_cache: dict[str, Phone] = {}
        self.clean_cache: dict[str, Phone] = {}
        self.parsed = 0
        self.ids: dict[str, int] = {}  # E.164 → id, numbered in the order first asked for

    def id_of(self, e164: str | None) -> int | None:
        """Return a small integer standing for an E.164 number in this trace, so frames join on integers."""
        if e164 is None:
            return None
        found = self.ids.get(e164)
        if found is None:
            found = self.ids[e164] = len(self.ids)
        return found

    def __call__(self, raw: str | None) -> Phone:
        """Return the Phone for a raw string, parsing it only the first time it is seen."""
        if raw is None:
            return UNPARSED
        hit = self.raw_cache.get(raw)
        if hit is None:
            hit = self.raw_cache[raw] = self._parse_clean(raw)
        return hit

    def many(self, raws: list[str]) -> list[Phone]:
        """Return the Phone of each raw string as calling the normalizer on each would; polars cleans plain ones."""
        fresh = [raw for raw in raws if raw not in self.raw_cache]
        if len(fresh) < PLAIN_KEYS_MIN:  # clean() costs well under a microsecond: polars pays off on many only
            raw_cache, clean_cache = self.raw_cache, self.clean_cache
            quick = quick_cn_key if self.default_region == "CN" else None
            for raw in fresh:
                key = quick(raw) if quick is not None else None
                if key is not None:  # _parse_clean() then _parse_key() of a plain mobile, inlined
                    hit = clean_cache.get(key)
                    if hit is None:
                        self.parsed += 1
                        hit = clean_cache[key] = Phone("+86" + key, classify_plain_cn(key), "CN")
                    raw_cache[raw] = hit
                else:
                    raw_cache[raw] = self._parse_clean(raw)
            return [raw_cache[raw] for raw in raws]
        for raw, key in zip(fresh, plain_keys(fresh, self.default_region), strict=True):
            self.raw_cache[raw] = self._parse_key(key) if key is not None else self._parse_clean(raw)
        return [self.raw_cache[raw] for raw in raws]

    def _parse_clean(self, raw: str) -> Phone:
        """Parse a new raw string, sharing work between spellings that clean to the same digits."""
        if self.default_region == "CN":
            key = quick_cn_key(raw)
            if key is not None:
                return self._parse_key(key)
        key = clean(raw)
        if key and self.default_region == "CN":
            key = cn_canonical(key)
        return self._parse_key(key)

    def _parse_key(self, key: str) -> Phone:
        """Return the Phone of a cleaned (and, in China, canonical) key, parsing it the first time."""
        hit = self.clean_cache.get(key)
        if hit is None:
            self.parsed += 1
            hit = (cn_phone(key) if self.default_region == "CN" else None) or (
                parse_phone(key, self.default_region) if key else UNPARSED)
            self.clean_cache[key] = hit
        return hit

    def e164(self, raw: str | None) -> str | None:
        """Return the E.164 form of a number that could belong to a person, else None."""
        phone = self(raw)
        return phone.e164 if phone.kind in PERSON_KINDS else None
