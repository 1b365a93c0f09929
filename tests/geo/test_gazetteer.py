"""The offline gazetteer: province/city/district parsed from address text, in the forms creditors write."""
from __future__ import annotations

import pytest

from backend.geocoding.gazetteer import gazetteer
from backend.geocoding.types import normalise_address


@pytest.mark.parametrize(("text", "adcode"), [
    ("四川省成都市武侯区科华北路65号3栋2单元", "510107"),
    ("四川成都武侯科华北路65号", "510107"),            # short forms
    ("成都市锦江区春熙路1号", "510104"),                # no province
    ("武侯区科华北路65号", "510107"),                  # district alone, unique in the country
    ("北京市朝阳区建国路88号", "110105"),               # municipality: the city is not written twice
    ("吉林省长春市朝阳区人民大街1号", "220104"),          # same district name, another city
    ("辽宁省朝阳市双塔区", "211302"),                   # 朝阳 the city, not 朝阳区
    ("新疆维吾尔自治区乌鲁木齐市天山区解放路", "650102"),
    ("凉山彝族自治州西昌市胜利路", "513401"),
    ("山东济南市中区经七路", "370103"),                 # 市中区 shares its 市 with 济南市
    ("重庆市城口县人民路", "500229"),                   # a municipality's county, outside its 市辖区 code
    ("海南藏族自治州共和县", "632521"),                 # 海南 here is a prefecture of Qinghai, not the province
])
def test_parses_the_district(text, adcode):
    assert gazetteer().geocode(text).adcode == adcode


def test_ambiguous_district_alone_is_not_guessed():
    assert gazetteer().parse("朝阳区建国路88号").district is None


def test_city_only_gives_city_precision():
    result = gazetteer().geocode("成都市某小区")
    assert (result.precision, result.adcode) == ("city", "510100")


def test_centroids_are_wgs84_inside_the_division():
    wuhou = gazetteer().geocode("成都市武侯区")
    assert 30.55 < wuhou.lat < 30.70 and 103.95 < wuhou.lon < 104.10


def test_normalised_text_ignores_spacing_and_full_width_but_not_dashes():
    assert normalise_address("四川省 成都市，武侯区 科华北路６５号") == normalise_address("四川省成都市武侯区科华北路65号")
    assert normalise_address("科华北路65-3号") != normalise_address("科华北路653号")
