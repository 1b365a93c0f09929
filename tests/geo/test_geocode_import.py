"""Text-only addresses: accepted at import, geocoded by the job on the `geocode` queue, cached by text."""
from __future__ import annotations

import io
import math

import pytest
import sqlalchemy as sa

from backend.auth.models import Role
from backend.cases.geocode import retry_pending_geocoding
from backend.cases.models import Case, CaseAddress
from backend.geo import point_latlon
from backend.jobs.models import BackgroundJob
from tests.geo.conftest import KEHUA, KEHUA_WGS84, case_row
from tests.geo.servers import NominatimLike


def metres(a, b) -> float:
    return math.hypot((a[0] - b[0]) * 111_320, (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0])))


def _import(client, headers, *rows):
    response = client.post("/api/v1/cases/import", json=list(rows), headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def _address(session, ref: str) -> CaseAddress:
    session.expire_all()
    return session.scalar(sa.select(CaseAddress).join(Case).where(Case.external_ref == ref))


def test_text_only_import_is_pending_then_geocoded_by_nominatim(client, as_role, session, nominatim, run_worker,
                                                                job_ids):
    _, headers = as_role(Role.DISPATCHER)
    report = _import(client, headers, case_row("GEO-1"))
    assert (report["created"], report["pending_geocode"]) == (1, 1)
    assert session.get(BackgroundJob, report["geocode_job_id"]).queue == "geocode"
    pending = _address(session, "GEO-1")
    assert (pending.geocode_status, pending.location) == ("pending", None)
    run_worker()
    address = _address(session, "GEO-1")
    assert (address.geocode_status, address.precision, address.source) == ("located", "rooftop", "geocoder:nominatim")
    assert metres(point_latlon(address.location), KEHUA_WGS84) < 0.1
    assert nominatim.requests[0]["format"] == "jsonv2" and nominatim.requests[0]["q"] == KEHUA


def test_same_text_in_a_second_case_costs_no_second_request(client, as_role, session, nominatim, run_worker,
                                                           job_ids):
    _, headers = as_role(Role.DISPATCHER)
    _import(client, headers, case_row("GEO-A"))
    run_worker()
    # Same address, written with full-width digits and spaces: the same normalised text.
    _import(client, headers, case_row("GEO-B", "四川省 成都市 武侯区 科华北路６５号３栋２单元"))
    run_worker()
    assert len(nominatim.requests) == 1
    assert point_latlon(_address(session, "GEO-B").location) == point_latlon(_address(session, "GEO-A").location)


def test_one_import_with_repeats_asks_each_distinct_text_once(client, as_role, session, nominatim, run_worker,
                                                             job_ids):
    _, headers = as_role(Role.DISPATCHER)
    _import(client, headers, *[case_row(f"GEO-R{i}") for i in range(5)], case_row("GEO-R9", "四川省成都市某处"))
    run_worker()
    assert len(nominatim.requests) == 2
    # Nominatim knew nothing of the second text: the gazetteer placed it in Chengdu (city precision).
    assert _address(session, "GEO-R9").precision == "city"


def test_amap_with_its_key_answers_gcj02_and_we_store_wgs84(client, as_role, session, amap, run_worker, job_ids):
    _, headers = as_role(Role.DISPATCHER)
    _import(client, headers, case_row("GEO-AMAP"))
    run_worker()
    address = _address(session, "GEO-AMAP")
    assert (address.source, address.precision, address.adcode) == ("geocoder:amap", "rooftop", "510107")
    assert metres(point_latlon(address.location), KEHUA_WGS84) < 1.0  # AMap's answer was ~500 m off in GCJ-02
    assert amap.requests[0]["key"] == "test-amap-key"


def test_amap_refusing_the_key_leaves_the_address_pending(client, as_role, session, amap, app, monkeypatch,
                                                          run_worker, job_ids):
    monkeypatch.setitem(app.config, "AMAP_KEY", "wrong-key")
    _, headers = as_role(Role.DISPATCHER)
    report = _import(client, headers, case_row("GEO-BADKEY"))
    run_worker()
    assert _address(session, "GEO-BADKEY").geocode_status == "pending"
    session.expire_all()
    assert session.get(BackgroundJob, report["geocode_job_id"]).result["errors"] == 1


def test_no_geocoder_gives_the_district_centroid_and_the_visit_stays_unplanned(
        client, as_role, session, no_geocoder, run_worker, job_ids, create_user):
    _, headers = as_role(Role.DISPATCHER)
    create_user(Role.COLLECTOR)
    _import(client, headers, case_row("GEO-GAZ"))
    run_worker()
    address = _address(session, "GEO-GAZ")
    assert (address.geocode_status, address.precision, address.source, address.adcode) == (
        "located", "district", "gazetteer", "510107")
    visit = client.post("/api/v1/visits", json={"case_id": address.case_id, "kind": "confirm"}, headers=headers).json
    plan = client.post("/api/v1/routes/plan", json={"date": visit["due_by"][:10]}, headers=headers).json
    assert {"visit_id": visit["id"], "reason": "address_not_located"} in plan["unassigned"]
    cases = client.get("/api/v1/cases?not_located=true", headers=headers).json
    assert [c["external_ref"] for c in cases["items"]] == ["GEO-GAZ"]
    visits = client.get("/api/v1/visits?not_located=true", headers=headers).json
    assert [v["id"] for v in visits["items"]] == [visit["id"]]
    assert visits["items"][0]["address"]["precision"] == "district"


def test_csv_import_accepts_text_only_rows(client, as_role, session, no_geocoder, run_worker, job_ids):
    _, headers = as_role(Role.DISPATCHER)
    csv = ("external_ref,debtor_name,amount_due,currency,days_past_due,address_text,lat,lon\n"
           f"GEO-CSV,李四,100.00,CNY,10,{KEHUA},,\n")
    response = client.post("/api/v1/cases/import", data={"file": (io.BytesIO(csv.encode()), "cases.csv")},
                           headers=headers, content_type="multipart/form-data")
    assert response.json["pending_geocode"] == 1
    run_worker()
    assert _address(session, "GEO-CSV").adcode == "510107"


def test_lat_without_lon_is_refused_naming_lon(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    report = client.post("/api/v1/cases/import", json=[case_row("GEO-HALF", lat=30.6)], headers=headers).json
    assert report["rejected"][0]["field"].endswith("lon")
    assert report["created"] == 0


def test_amap_signed_requests_pass_the_signature_check(client, as_role, session, amap, app, monkeypatch, run_worker,
                                                       job_ids):
    amap.private_key = "private-key"
    _, headers = as_role(Role.DISPATCHER)
    monkeypatch.setitem(app.config, "AMAP_PRIVATE_KEY", "wrong")
    _import(client, headers, case_row("GEO-SIG-BAD"))
    run_worker()
    monkeypatch.setitem(app.config, "AMAP_PRIVATE_KEY", "private-key")
    _import(client, headers, case_row("GEO-SIG"))
    run_worker()
    assert _address(session, "GEO-SIG-BAD").geocode_status == "pending"
    assert _address(session, "GEO-SIG").source == "geocoder:amap"
    assert amap.requests[-1]["sig"]


def test_sweep_retries_addresses_a_failed_provider_left_pending(client, as_role, session, amap, app, monkeypatch,
                                                                run_worker, job_ids):
    monkeypatch.setitem(app.config, "AMAP_KEY", "wrong-key")
    _, headers = as_role(Role.DISPATCHER)
    _import(client, headers, case_row("GEO-RETRY"))
    run_worker()
    assert _address(session, "GEO-RETRY").geocode_status == "pending"
    monkeypatch.setitem(app.config, "AMAP_KEY", "test-amap-key")  # the key is fixed
    assert retry_pending_geocoding(older_than_s=0)["pending"] == 1
    run_worker()
    assert _address(session, "GEO-RETRY").source == "geocoder:amap"


class _Garbled(NominatimLike):
    """Answers 200 with something no Nominatim sends: an object where a list of places belongs, then a
    place whose lat is not a number."""

    def answer(self, path, query):
        return 200, ([{"lat": "north-ish", "lon": "104.07", "place_rank": 30}] if "科华" in query["q"]
                     else [{"display_name": "no position at all"}])


def test_an_unreadable_provider_answer_leaves_the_text_pending_never_a_dead_job():
    from backend.geocoding.providers import NominatimGeocoder
    from backend.geocoding.types import GeocoderError

    with _Garbled({}) as server:
        geocoder = NominatimGeocoder(server.url, rate_per_s=50)
        for text in (KEHUA, "成都市锦江区春熙路1号"):
            with pytest.raises(GeocoderError, match="nominatim: unreadable answer"):
                geocoder.geocode(text)
