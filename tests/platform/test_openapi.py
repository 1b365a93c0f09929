"""The OpenAPI document is one a client can be generated from: every operation named, its bodies,
answers and errors described, the Idempotency-Key header declared, every list paged one way."""
from __future__ import annotations

import inspect
import re

import pytest
from flask.testing import FlaskClient

from backend.auth.models import Role
from backend.openapi import IDEMPOTENCY_HEADER, derive_operation_id
from backend.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from backend.safety.schemas import CheckinOutSchema, SosOutSchema
from backend.sync.schemas import SyncResponseSchema
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from backend.visits.requests import request_visit
from backend.visits.schemas import OutcomeOutSchema
from tests.factories import CENTRE
from tests.visits.conftest import daytime_zone, new_key, plan_day

METHODS = ("get", "post", "put", "patch", "delete")
WRITES = ("post", "put", "patch", "delete")
# What a view does when it reads the request body (or hands it on to something that does).
READS_BODY = ("json_body", "request.", "get_json", "uploaded_text", "submit(", "respond_once(")


@pytest.fixture(scope="module")
def document(app):
    # A plain test client: the `client` fixture's commits need a test's session, this reads no rows.
    return FlaskClient(app, app.response_class).get("/api/v1/openapi.json").json


def operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method], item.get("parameters", []) + item[method].get("parameters", [])


def resolve(document, node: dict) -> dict:
    while "$ref" in node or "allOf" in node or "anyOf" in node:  # a nullable nested schema wraps its $ref
        if "allOf" in node or "anyOf" in node:
            node = next(n for n in node.get("allOf", node.get("anyOf")) if "$ref" in n)
            continue
        kind, name = node["$ref"].split("/")[-2:]
        node = document["components"][kind][name]
    return node


def json_schema(document, response: dict) -> dict | None:
    schema = resolve(document, response).get("content", {}).get("application/json", {}).get("schema")
    return resolve(document, schema) if schema else None


def handler_of(app, method: str, path: str):
    rule = path.replace("{", "<int:").replace("}", ">")
    for candidate in app.url_map.iter_rules():
        if candidate.rule == rule or re.sub(r"<[^:>]+:", "<", candidate.rule) == re.sub(r"<[^:>]+:", "<", rule):
            view = app.view_functions[candidate.endpoint]
            view_class = getattr(view, "view_class", None)
            return getattr(view_class, method) if view_class else view
    raise AssertionError(f"no rule for {path}")


def source_of(handler) -> str:
    return inspect.getsource(inspect.unwrap(handler))


def test_every_operation_has_a_unique_verb_noun_operation_id(document):
    ids = [op.get("operationId") for _, _, op, _ in operations(document)]
    assert None not in ids
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", i)] == []


def test_operation_ids_are_derived_from_method_and_path():
    assert derive_operation_id("get", "/api/v1/visits/{visit_id}") == "get_visit"
    assert derive_operation_id("get", "/api/v1/visits") == "list_visits"
    assert derive_operation_id("post", "/api/v1/visits") == "create_visit"
    assert derive_operation_id("post", "/api/v1/visits/{visit_id}/approve") == "approve_visit"
    assert derive_operation_id("get", "/api/v1/cases/{case_id}/promises") == "list_case_promises"
    assert derive_operation_id("get", "/api/v1/routes/{route_id}.geojson") == "get_route_geojson"


def test_the_mobile_apps_operations_keep_their_names(document):
    ids = {(method, path): op["operationId"] for method, path, op, _ in operations(document)}
    assert ids[("post", "/api/v1/auth/token")] == "log_in"
    assert ids[("get", "/api/v1/me/route")] == "get_my_route"
    assert ids[("post", "/api/v1/visits/{visit_id}/outcome")] == "report_visit_outcome"
    assert ids[("post", "/api/v1/sync")] == "sync_events"
    assert ids[("post", "/api/v1/safety/checkins")] == "check_in"
    assert ids[("post", "/api/v1/safety/sos")] == "raise_sos"


def test_every_operation_documents_a_success_response_with_a_schema(document):
    missing = [f"{method} {path}" for method, path, op, _ in operations(document)
               if not any(code.startswith("2") and json_schema(document, response)
                          for code, response in op["responses"].items())]
    assert missing == []


def test_every_operation_documents_its_errors_in_the_error_shape(document):
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = resolve(document, error["properties"]["error"])
    assert set(detail["required"]) == {"code", "message", "fields"}
    problems = []
    for method, path, op, params in operations(document):
        errors = {code: response for code, response in op["responses"].items() if code.startswith("4")}
        takes_nothing = op.get("security") == [] and not params and "requestBody" not in op  # GET /health
        if not errors and not takes_nothing:
            problems.append(f"{method} {path}: no 4xx")
        for code, response in errors.items():
            schema = resolve(document, response)["content"]["application/json"]["schema"]
            if schema != {"$ref": "#/components/schemas/Error"}:
                problems.append(f"{method} {path}: {code} is not the error shape")
    assert problems == []


def test_the_error_codes_follow_what_an_operation_takes(document):
    problems = []
    for method, path, op, params in operations(document):
        codes = set(op["responses"])
        expected = set()
        if op.get("security") != []:
            expected |= {"401", "403"}
        if "{" in path:
            expected.add("404")
        if method in WRITES:
            expected.add("409")
        if op.get("requestBody") or any(p.get("in") == "query" for p in params):
            expected.add("422")
        if op.get("requestBody"):
            expected.add("413")  # JSON bodies have their 1 MiB ceiling too, enforced before parsing
        expected.add("503")
        if expected - codes:
            problems.append(f"{method} {path}: missing {sorted(expected - codes)}")
    assert problems == []
    by_id = {op["operationId"]: op for _, _, op, _ in operations(document)}
    assert "413" in by_id["sync_events"]["responses"]
    assert "413" in by_id["import_cases"]["responses"]
    assert {"401", "429"} <= set(by_id["log_in"]["responses"])  # 429: too many failed logins
    assert "429" in by_id["ack_safety_alert"]["responses"]  # too many wrong acknowledgement codes


def test_every_operation_that_reads_a_body_documents_it(app, document):
    undocumented = []
    for method, path, op, _ in operations(document):
        if method in WRITES and "requestBody" not in op:
            source = source_of(handler_of(app, method, path))
            if any(token in source for token in READS_BODY):
                undocumented.append(f"{method} {path}")
    assert undocumented == []


def test_sync_and_import_bodies_are_described(document):
    by_id = {op["operationId"]: op for _, _, op, _ in operations(document)}
    sync = resolve(document, by_id["sync_events"]["requestBody"]["content"]["application/json"]["schema"])
    assert sync["required"] == ["events"]
    event = resolve(document, sync["properties"]["events"]["items"])
    assert set(event["required"]) == {"type", "idempotency_key"}
    content = by_id["import_cases"]["requestBody"]["content"]
    cases = resolve(document, content["application/json"]["schema"])["properties"]["cases"]["items"]
    assert "external_ref" in resolve(document, cases)["required"]
    upload = resolve(document, content["multipart/form-data"]["schema"])
    assert upload["properties"]["file"] == {"type": "string", "format": "binary", **upload["properties"]["file"]}


def test_idempotency_key_is_a_header_wherever_an_endpoint_reads_one(app, document):
    problems = []
    for method, path, _op, params in operations(document):
        header = [p for p in params if p.get("in") == "header" and p["name"] == IDEMPOTENCY_HEADER]
        reads_key = any(token in source_of(handler_of(app, method, path)) for token in ("submit(", "respond_once("))
        if reads_key and not header:
            problems.append(f"{method} {path}: reads an Idempotency-Key but does not declare it")
    assert problems == []
    by_id = {op["operationId"]: (op, params) for _, _, op, params in operations(document)}
    _, params = by_id["report_visit_outcome"]
    assert [p["required"] for p in params if p["name"] == IDEMPOTENCY_HEADER] == [True]
    _, params = by_id["check_in"]
    assert [p["required"] for p in params if p["name"] == IDEMPOTENCY_HEADER] == [False]


def test_every_list_answers_the_one_page_envelope(document):
    problems = []
    for method, path, op, params in operations(document):
        query = {p["name"]: p for p in params if p.get("in") == "query"}
        if {"limit", "offset"} & set(query):
            problems.append(f"{method} {path}: limit/offset")
        if method != "get":
            continue
        schema = json_schema(document, op["responses"]["200"])
        if schema.get("type") == "array":
            problems.append(f"{path}: a bare array")
            continue
        properties = schema.get("properties", {})
        items = properties.get("items") or properties.get("features")
        if items is None or items.get("type") != "array" or "{" in path and path.endswith(".geojson"):
            continue  # one thing, not a list (a single route's GeoJSON is one route)
        if not {"total", "page", "page_size"} <= set(properties):
            problems.append(f"{path}: no total/page/page_size")
        page, size = query.get("page"), query.get("page_size")
        if page is None or size is None:
            problems.append(f"{path}: no page/page_size parameters")
            continue
        if (page["schema"].get("minimum"), page["schema"].get("default")) != (1, 1):
            problems.append(f"{path}: page is not 1..")
        if (size["schema"].get("minimum"), size["schema"].get("maximum"), size["schema"].get("default")) != \
                (1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE):
            problems.append(f"{path}: page_size is not 1..{MAX_PAGE_SIZE} default {DEFAULT_PAGE_SIZE}")
    assert problems == []


def test_geojson_answers_are_rfc7946_shapes(document):
    by_path = {(method, path): op for method, path, op, _ in operations(document)}
    visits = json_schema(document, by_path[("get", "/api/v1/visits.geojson")]["responses"]["200"])
    route = json_schema(document, by_path[("get", "/api/v1/routes/{route_id}.geojson")]["responses"]["200"])
    for collection in (visits, route):
        assert collection["properties"]["type"]["enum"] == ["FeatureCollection"]
        feature = resolve(document, collection["properties"]["features"]["items"])
        assert feature["properties"]["type"]["enum"] == ["Feature"]
        geometry = resolve(document, feature["properties"]["geometry"])
        assert "Point" in geometry["properties"]["type"]["enum"]
        assert "LineString" in geometry["properties"]["type"]["enum"]
    assert {"total", "page", "page_size"} <= set(visits["required"])


def test_every_visit_and_stop_feature_documents_its_pin(document):
    """The properties of the map's features are named in their 200's description: each shows the pin."""
    by_path = {(method, path): op for method, path, op, _ in operations(document)}
    for path in ("/api/v1/visits.geojson", "/api/v1/routes/{route_id}.geojson", "/api/v1/routes.geojson"):
        described = resolve(document, by_path[("get", path)]["responses"]["200"])["description"]
        assert "pin: the visit's pin as in GET /visits, or null" in described, path


# The documented answers are the real ones: what the mobile app's writes return loads into the schema
# that documents it, with nothing undocumented (marshmallow refuses unknown fields).

@pytest.fixture
def field_visit(session, create_case, as_role):
    collector, headers = as_role(Role.COLLECTOR)
    case = create_case()
    case.timezone = daytime_zone(14)
    visit = request_visit(session, case_id=case.id, kind="confirm")
    visit.status, visit.collector_id, visit.scheduled_date = VisitStatus.ASSIGNED, collector.id, plan_day()
    session.flush()
    return visit, headers


def _outcome(**fields):
    return {"outcome": "met_debtor", "recorded_at": utcnow().isoformat(), "lat": CENTRE[0], "lon": CENTRE[1],
            "accuracy_m": 10, **fields}


def test_outcome_answer_is_the_documented_one(client, field_visit):
    visit, headers = field_visit
    response = client.post(f"/api/v1/visits/{visit.id}/outcome", json=_outcome(),
                           headers={**headers, "Idempotency-Key": new_key()})
    assert response.status_code == 201
    assert OutcomeOutSchema().validate(response.json) == {}


def test_sync_answer_is_the_documented_one(client, field_visit):
    visit, headers = field_visit
    events = [{"type": "outcome", "idempotency_key": new_key(), "visit_id": visit.id, **_outcome()},
              {"type": "outcome", "idempotency_key": new_key(), "visit_id": visit.id + 1000, **_outcome()}]
    response = client.post("/api/v1/sync", json={"events": events}, headers=headers)
    assert [r["status"] for r in response.json["results"]] == [201, 404]
    assert SyncResponseSchema().validate(response.json) == {}


def test_checkin_and_sos_answers_are_the_documented_ones(client, field_visit):
    _, headers = field_visit
    at = utcnow().isoformat()
    checkin = client.post("/api/v1/safety/checkins", headers=headers,
                          json={"kind": "shift_start", "lat": CENTRE[0], "lon": CENTRE[1], "recorded_at": at})
    sos = client.post("/api/v1/safety/sos", headers=headers, json={"lat": CENTRE[0], "lon": CENTRE[1], "recorded_at": at})
    assert (checkin.status_code, sos.status_code) == (201, 201)
    assert CheckinOutSchema().validate(checkin.json) == {}
    assert SosOutSchema().validate(sos.json) == {}


def test_visits_geojson_pages_like_every_list(client, field_visit, session, as_role):
    visit, _ = field_visit
    second = request_visit(session, case_id=visit.case_id, kind="confirm")
    session.flush()
    _, headers = as_role(Role.DISPATCHER)
    first_page = client.get("/api/v1/visits.geojson?page_size=1", headers=headers).json
    second_page = client.get("/api/v1/visits.geojson?page=2&page_size=1", headers=headers).json
    assert (first_page["type"], first_page["total"], first_page["page"], first_page["page_size"]) == \
        ("FeatureCollection", 2, 1, 1)
    assert [f["id"] for f in first_page["features"] + second_page["features"]] == [visit.id, second.id]
    too_big = client.get(f"/api/v1/visits.geojson?page_size={MAX_PAGE_SIZE + 1}", headers=headers)
    assert too_big.status_code == 422
    assert "page_size" in too_big.json["error"]["fields"]


def test_a_list_pages_with_page_and_page_size(client, as_role, create_user):
    _, headers = as_role(Role.ADMIN)
    for _ in range(2):
        create_user(Role.COLLECTOR)
    first = client.get("/api/v1/users?page_size=2", headers=headers).json
    second = client.get("/api/v1/users?page=2&page_size=2", headers=headers).json
    assert (first["total"], first["page"], first["page_size"], len(first["items"])) == (3, 1, 2, 2)
    assert (second["page"], len(second["items"])) == (2, 1)
    assert {u["id"] for u in first["items"]}.isdisjoint(u["id"] for u in second["items"])
    assert client.get("/api/v1/users?page=0", headers=headers).json["error"]["fields"].keys() == {"page"}


def test_two_operations_with_one_id_stop_the_app_from_starting():
    from flask import Flask
    from flask.views import MethodView
    from flask_smorest import Api, Blueprint

    from backend.auth.access import public
    from backend.openapi import ClientContractPlugin

    app = Flask("twins")
    app.config.update(API_TITLE="t", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    api = Api()
    api.init_app(app, spec_kwargs={"extra_plugins": [ClientContractPlugin(app)]})
    blp = Blueprint("twins", __name__, url_prefix="/api/v1")

    @blp.route("/apples")
    class Apples(MethodView):
        @public
        @blp.doc(operationId="count_fruit")
        @blp.response(200)
        def get(self):
            return {}

    @blp.route("/pears")
    class Pears(MethodView):
        @public
        @blp.doc(operationId="count_fruit")
        @blp.response(200)
        def get(self):
            return {}

    with pytest.raises(RuntimeError, match="count_fruit"):
        api.register_blueprint(blp)
