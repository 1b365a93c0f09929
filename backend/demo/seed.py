"""The demo data set: Chengdu, a dozen collectors, a few hundred cases. Idempotent."""
from __future__ import annotations

import random
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.auth.service import create_user
from backend.cases.addresses import current_addresses, propose_position
from backend.cases.models import AddressPositionProposal, Case
from backend.cases.service import import_cases
from backend.demo.city import CITY_NAME, CITY_TIMEZONE, DISTRICTS, random_address, random_point
from backend.policy.models import Portfolio
from backend.policy.service import create_portfolio, ensure_default_portfolio
from backend.visits.models import Visit
from backend.visits.requests import request_visit

DEMO_PASSWORD = "fieldtrace-demo"
STAFF = (("admin", Role.ADMIN, "系统管理员"), ("dispatcher", Role.DISPATCHER, "调度 刘敏"),
         ("supervisor", Role.SUPERVISOR, "主管 陈静"), ("tracer", Role.TRACER, "查询专员 黄磊"))
PORTFOLIOS = (("cmb-cards", "招商银行信用卡中心", {}),
              ("pingan-auto", "平安银行汽车金融", {"contact.third_party_unanswered_per_day": 4}))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红飞鹏辉建国志斌宇浩凯倩婷雪梅琳晨"
RELATIONS = (("spouse", "爱人"), ("parent", "母亲"), ("parent", "父亲"), ("sibling", "哥哥"),
             ("sibling", "妹妹"), ("friend", "朋友"), ("colleague", "同事"))
MOBILE_PREFIXES = ("138", "139", "135", "136", "137", "150", "151", "158", "186", "187", "189", "177")
# Cases whose creditor sent the address as text alone: they wait for the geocoder (or a dispatcher).
TEXT_ONLY = (("DEMO-T001", "四川省成都市武侯区科华北路65号3栋2单元"), ("DEMO-T002", "成都市锦江区春熙路1号"),
             ("DEMO-T003", "四川省成都市青羊区人民中路一段18号"), ("DEMO-T004", "四川省 成都市 成华区 建设路55号2栋"),
             ("DEMO-T005", "成都市金牛区一环路北三段1号附3号"))
# A collector's fix at the first one's door (lat, lon, accuracy in metres), waiting for a dispatcher.
PROPOSED_DOOR = (30.63297, 104.07912, 6.0)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _ensure_user(session: Session, region: str, **fields) -> bool:
    if session.scalar(sa.select(User.id).where(User.username == fields["username"])):
        return False
    create_user(session, region=region, password=DEMO_PASSWORD, password_policy=False, **fields)
    return True


def _seed_staff(session: Session, rng: random.Random, n_collectors: int, region: str) -> int:
    created = 0
    for username, role, name in STAFF:
        created += _ensure_user(session, region, username=username, role=role, name=name,
                                timezone=CITY_TIMEZONE)
    for i in range(1, n_collectors + 1):
        district = DISTRICTS[(i - 1) % len(DISTRICTS)]
        lat, lon, _ = random_point(rng, district)
        created += _ensure_user(
            session, region, username=f"collector{i:02d}", role=Role.COLLECTOR, name=f"外访员 {_name(rng)}",
            phone=_mobile(rng), timezone=CITY_TIMEZONE, home={"lat": lat, "lon": lon},
            shift_start="08:30", shift_end="18:00", max_visits_per_day=rng.choice((8, 10, 12)),
            skills=rng.sample(["car", "sichuanese", "senior"], k=rng.randint(0, 2)),
            # Two crews of two for hazard-flagged addresses.
            team_size=2 if i in (1, 2) else 1)
    return created


def _seed_portfolios(session: Session) -> list[str]:
    ensure_default_portfolio(session)
    for code, creditor, overrides in PORTFOLIOS:
        if not session.scalar(sa.select(Portfolio.id).where(Portfolio.code == code)):
            create_portfolio(session, code=code, creditor=creditor, overrides=overrides)
    return [None] + [code for code, _, _ in PORTFOLIOS]


def _case(rng: random.Random, n: int, portfolio: str | None) -> dict:
    lat, lon, district = random_point(rng)
    contacts = []
    for relationship, label in rng.sample(RELATIONS, k=rng.randint(1, 3)):
        contacts.append({"name": f"{_name(rng)}（{label}）", "relationship": relationship, "phone": _mobile(rng)})
    addresses = [{"kind": "home", "text": random_address(rng, district), "lat": lat, "lon": lon}]
    if rng.random() < 0.3:
        wlat, wlon, wdistrict = random_point(rng)
        addresses.append({"kind": "work", "text": random_address(rng, wdistrict), "lat": wlat, "lon": wlon})
    return {
        "external_ref": f"DEMO-{n:05d}", "portfolio": portfolio, "debtor_name": _name(rng),
        "amount_due": str(Decimal(rng.randint(800, 180_000)) + Decimal(rng.randint(0, 99)) / 100),
        "currency": "CNY", "days_past_due": rng.choice((5, 12, 25, 33, 47, 61, 95, 140)),
        "timezone": CITY_TIMEZONE, "addresses": addresses,
        "phones": [{"number": _mobile(rng), "kind": "mobile"}], "contacts": contacts,
    }


def seed_demo(session: Session, *, n_cases: int = 300, n_collectors: int = 12, seed: int = 7,
              region: str = "CN") -> list[str]:
    """Load the demo; return lines describing what is there."""
    rng = random.Random(seed)
    new_users = _seed_staff(session, rng, n_collectors, region)
    portfolios = _seed_portfolios(session)
    report = import_cases(session, [_case(rng, n, rng.choice(portfolios)) for n in range(1, n_cases + 1)],
                          region=region, source="demo")
    session.flush()
    lines = [f"demo city: {CITY_NAME} ({len(DISTRICTS)} districts)",
             f"users: {new_users} new (admin, dispatcher, supervisor, tracer, collector01..collector{n_collectors:02d});"
             f" password for all: {DEMO_PASSWORD}",
             f"portfolios: default, {', '.join(code for code, _, _ in PORTFOLIOS)}",
             f"cases: {report.created} created, {report.updated} updated, {report.rejected_rows} rejected"]
    lines.extend(_seed_feature_extras(session, rng))
    # Its own generator: a second run draws the same names whatever the steps before it skipped.
    lines.extend(_seed_address_work(session, random.Random(seed + 1), region))
    return lines


def _seed_feature_extras(session: Session, rng: random.Random) -> list[str]:
    """Visit requests for a sixth of the cases, so the dispatcher has a day to plan."""
    if session.scalar(sa.select(sa.func.count()).select_from(Visit)):
        return ["visits: already seeded"]
    case_ids = list(session.scalars(sa.select(Case.id).order_by(Case.id)))
    chosen = rng.sample(case_ids, k=max(1, len(case_ids) // 6))
    for case_id in chosen:
        kind = rng.choice(("confirm", "locate", "broken_promise"))
        request_visit(session, case_id=case_id, kind=kind, reason="demo: raised by the dispatcher",
                      priority=rng.randint(1, 5), source="demo")
    return [f"visits: {len(chosen)} requested"]


def _seed_address_work(session: Session, rng: random.Random, region: str) -> list[str]:
    """Text-only addresses awaiting a position and one door position a collector proposed, so the
    console's address review has work in it (no geocode job is queued: they stay pending)."""
    rows = [{**_case(rng, 0, None), "external_ref": ref, "addresses": [{"kind": "home", "text": text}]}
            for ref, text in TEXT_ONLY]
    report = import_cases(session, rows, region=region, source="demo")
    session.flush()
    lines = [f"text-only addresses: {report.created} cases created"]
    if session.scalar(sa.select(sa.func.count()).select_from(AddressPositionProposal)):
        return lines
    case_id = session.scalar(sa.select(Case.id).where(Case.external_ref == TEXT_ONLY[0][0]))
    collector_id = session.scalar(sa.select(User.id).where(User.username == "collector01"))
    address = current_addresses(session, case_id)[0]
    lat, lon, accuracy_m = PROPOSED_DOOR
    if propose_position(session, address_id=address.id, lat=lat, lon=lon, accuracy_m=accuracy_m,
                        proposed_by_id=collector_id, source_ref="demo") is not None:
        lines.append(f"address proposals: 1 pending ({TEXT_ONLY[0][1]})")
    return lines
