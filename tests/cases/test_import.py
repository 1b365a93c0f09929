"""Case intake: JSON and CSV, idempotent on external_ref, bad rows reported and never half-written."""
from __future__ import annotations

import io

import sqlalchemy as sa

from backend.auth.models import Role
from backend.cases.models import Case, CaseAddress, CaseContact, CasePhone


def good_case(ref="EXT-1", **overrides):
    case = {
        "external_ref": ref, "debtor_name": "张伟", "amount_due": "12800.50", "currency": "CNY",
        "days_past_due": 42, "timezone": "Asia/Shanghai",
        "addresses": [{"kind": "home", "text": "成都市锦江区春熙路1号", "lat": 30.657, "lon": 104.081}],
        "phones": [{"number": "+86 138-0013-8000", "kind": "mobile"}],
        "contacts": [{"name": "李娜", "relationship": "spouse", "phone": "13900139000"}],
    }
    case.update(overrides)
    return case


def count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_json_import_stores_case_with_normalised_numbers(client, as_role, session):
    _, headers = as_role(Role.DISPATCHER)
    response = client.post("/api/v1/cases/import", json=[good_case()], headers=headers)
    assert response.status_code == 200
    assert response.json == {"created": 1, "updated": 0, "rejected_rows": 0, "rejected": [], "moved": [],
                             "pending_geocode": 0, "geocode_job_id": None}
    case = session.scalar(sa.select(Case).where(Case.external_ref == "EXT-1"))
    assert str(case.amount_due) == "12800.50"
    assert [p.number_e164 for p in case.phones] == ["+8613800138000"]
    assert case.contacts[0].phone_e164 == "+8613900139000"
    assert case.portfolio.code == "default"


def test_reimport_updates_and_never_duplicates(client, as_role, session):
    _, headers = as_role(Role.DISPATCHER)
    client.post("/api/v1/cases/import", json=[good_case()], headers=headers)
    again = client.post("/api/v1/cases/import", json=[good_case(amount_due="9000", days_past_due=50)],
                        headers=headers)
    assert again.json["created"] == 0 and again.json["updated"] == 1
    assert count(session, Case) == 1
    assert count(session, CaseAddress) == count(session, CasePhone) == count(session, CaseContact) == 1
    case = session.scalar(sa.select(Case))
    assert (str(case.amount_due), case.days_past_due) == ("9000.00", 50)


def test_bad_rows_are_reported_and_good_rows_stored(client, as_role, session):
    _, headers = as_role(Role.DISPATCHER)
    rows = [
        good_case("OK-1"),
        good_case("BAD-LAT", addresses=[{"kind": "home", "text": "x", "lat": 91, "lon": 104}]),
        good_case("BAD-PHONE", phones=[{"number": "12345"}]),
        good_case("BAD-TYPE", days_past_due="forty"),
        good_case("BAD-PORTFOLIO", portfolio="no-such-bank"),
        "not an object",
        good_case("OK-2"),
    ]
    response = client.post("/api/v1/cases/import", json=rows, headers=headers)
    assert response.status_code == 200
    body = response.json
    assert (body["created"], body["updated"], body["rejected_rows"]) == (2, 0, 5)
    by_row = {(r["row"], r["field"]) for r in body["rejected"]}
    assert {(2, "addresses.0.lat"), (3, "phones.0.number"), (4, "days_past_due"), (5, "portfolio"),
            (6, "_row")} == by_row
    assert set(session.scalars(sa.select(Case.external_ref))) == {"OK-1", "OK-2"}
    # Nothing of a rejected row was written: no orphan phones, addresses or contacts.
    assert count(session, CasePhone) == count(session, CaseAddress) == 2


def test_import_into_named_portfolio(client, as_role, create_portfolio, session):
    _, headers = as_role(Role.DISPATCHER)
    portfolio = create_portfolio(code="icbc-cards", creditor="ICBC cards")
    client.post("/api/v1/cases/import", json=[good_case(portfolio="icbc-cards")], headers=headers)
    assert session.scalar(sa.select(Case.portfolio_id)) == portfolio.id


def test_import_body_must_be_a_list(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.post("/api/v1/cases/import", json={"external_ref": "x"}, headers=headers)
    assert response.status_code == 422


def test_malformed_json_import_is_400(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.post("/api/v1/cases/import", data="[{", content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


CSV_HEADER = "external_ref,portfolio,debtor_name,amount_due,currency,days_past_due,timezone,address_text,lat,lon,phone\n"


def post_csv(client, headers, text: str, encoding="utf-8"):
    return client.post("/api/v1/cases/import", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(text.encode(encoding)), "cases.csv")})


def test_csv_import_with_broken_rows(client, as_role, session):
    _, headers = as_role(Role.DISPATCHER)
    text = CSV_HEADER + (
        "CSV-1,,王芳,3000,CNY,12,Asia/Shanghai,成都市武侯区1号,30.64,104.04,13800138000\n"
        "CSV-2,,赵强,abc,CNY,12,Asia/Shanghai,成都市武侯区2号,30.64,104.04,13800138001\n"
        "CSV-3,,only,three\n"
        "CSV-4,,孙丽,100.5,cny,3,,成都市金牛区3号,30.69,104.05,\n"
        "CSV-5,,周杰,100,CNY,3,Asia/Shanghai,成都市,30.69,200,13800138002\n"
    )
    response = post_csv(client, headers, text)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["created"], body["rejected_rows"]) == (2, 3)
    assert {(r["row"], r["field"]) for r in body["rejected"]} == {
        (2, "amount_due"), (3, "_row"), (5, "addresses.0.lon")}
    assert set(session.scalars(sa.select(Case.external_ref))) == {"CSV-1", "CSV-4"}


def test_csv_in_gb18030_as_excel_saves_it(client, as_role, session):
    _, headers = as_role(Role.DISPATCHER)
    text = CSV_HEADER + "GBK-1,,王芳,3000,CNY,12,Asia/Shanghai,成都市武侯区1号,30.64,104.04,13800138000\n"
    response = post_csv(client, headers, text, encoding="gb18030")
    assert response.json["created"] == 1
    assert session.scalar(sa.select(Case.debtor_name)) == "王芳"


def test_csv_missing_required_column_is_422(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = post_csv(client, headers, "external_ref,debtor_name\nX,Y\n")
    assert response.status_code == 422
    assert "amount_due" in response.json["error"]["message"]


def test_oversized_upload_is_413(app, client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        response = post_csv(client, headers, CSV_HEADER + "x" * 5000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert "_body" in response.json["error"]["fields"]


def test_import_needs_dispatcher_role(client, as_role):
    _, headers = as_role(Role.TRACER)
    response = client.post("/api/v1/cases/import", json=[good_case()], headers=headers)
    assert response.status_code == 403
