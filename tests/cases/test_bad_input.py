"""Bad case input: 422 naming the field or file, never a 500."""
from __future__ import annotations

import io

import sqlalchemy as sa

from backend.auth.models import Role
from backend.cases.models import Case

CSV_HEADER = b"external_ref,portfolio,debtor_name,amount_due,currency,days_past_due,timezone,address_text,lat,lon,phone\n"


def test_list_filters_beyond_the_database_are_422(client, as_role):
    _, headers = as_role(Role.ADMIN)
    for name, value in (("page", 10**19), ("portfolio_id", 2**31)):
        response = client.get("/api/v1/cases", query_string={name: value}, headers=headers)
        assert response.status_code == 422, name
        assert set(response.json["error"]["fields"]) == {name}


def test_csv_upload_holding_nul_bytes_is_422_naming_the_file(client, as_role, session):
    _, headers = as_role(Role.DISPATCHER)
    row = b"NUL-1,,\x00,100,CNY,5,Asia/Shanghai,addr,30.6,104.0,13800138000\n"
    response = client.post("/api/v1/cases/import", data={"file": (io.BytesIO(CSV_HEADER + row), "cases.csv")},
                           content_type="multipart/form-data", headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"file"}
    assert session.scalar(sa.select(Case.id).where(Case.external_ref == "NUL-1")) is None


def test_json_import_with_nul_in_a_name_is_422_naming_the_row_field(client, as_role, session):
    _, headers = as_role(Role.DISPATCHER)
    case = {"external_ref": "NUL-2", "debtor_name": "\x00", "amount_due": "10", "currency": "CNY",
            "days_past_due": 1}
    response = client.post("/api/v1/cases/import", json=[case], headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"0.debtor_name"}
    assert session.scalar(sa.select(Case.id).where(Case.external_ref == "NUL-2")) is None
