"""Case intake and reads."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload

from backend.cases.addresses import address_view, not_located_clause, put_address
from backend.cases.csv_rows import BrokenRow
from backend.cases.models import Case, CaseAddress, CaseContact, CasePhone, ContactStatus, GeocodeStatus
from backend.cases.schemas import CaseImportSchema
from backend.errors import NotFound, flatten_messages
from backend.phones import PhoneError, mask_phone, normalise_phone
from backend.policy.models import Portfolio
from backend.policy.service import ensure_default_portfolio
from backend.timeutil import utcnow

_import_schema = CaseImportSchema()


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_rows: int = 0
    # Cases whose home/work address changed: the dispatcher sees which moved and which visits followed.
    moved: list[dict] = field(default_factory=list)
    # Text-only addresses waiting for the geocode job.
    pending_address_ids: list[int] = field(default_factory=list)
    pending_geocode: int = 0
    geocode_job_id: int | None = None

    def reject(self, row: int, external_ref, errors: dict[str, str]) -> None:
        self.rejected_rows += 1
        for name, message in errors.items():
            self.rejected.append({"row": row, "external_ref": external_ref, "field": name, "message": message})


class _RowError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _normalise_numbers(case_row: dict, region: str) -> None:
    errors = {}
    for i, phone in enumerate(case_row["phones"]):
        try:
            phone["number"] = normalise_phone(phone["number"], region)
        except PhoneError as exc:
            errors[f"phones.{i}.number"] = str(exc)
    for i, contact in enumerate(case_row["contacts"]):
        if contact.get("phone"):
            try:
                contact["phone"] = normalise_phone(contact["phone"], region)
            except PhoneError as exc:
                errors[f"contacts.{i}.phone"] = str(exc)
    if errors:
        raise _RowError(errors)


class _Portfolios:
    """Portfolio codes looked up once per import."""

    def __init__(self, session: Session):
        self.session = session
        self.by_code: dict[str | None, int] = {}

    def resolve(self, code: str | None) -> int:
        code = (code or "").strip() or None
        if code not in self.by_code:
            if code is None:
                self.by_code[code] = ensure_default_portfolio(self.session).id
            else:
                found = self.session.scalar(sa.select(Portfolio.id).where(Portfolio.code == code))
                if found is None:
                    raise _RowError({"portfolio": f"unknown portfolio {code!r}"})
                self.by_code[code] = found
        return self.by_code[code]


def _upsert_case(session: Session, row: dict, portfolio_id: int) -> tuple[int, bool]:
    values = {k: row[k] for k in ("external_ref", "debtor_name", "amount_due", "currency", "days_past_due",
                                  "timezone")}
    values["portfolio_id"] = portfolio_id
    now = utcnow()
    statement = insert(Case).values(**values, contact_status=ContactStatus.REACHABLE, status_changed_at=now,
                                    created_at=now, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[Case.external_ref],
        set_={**{k: statement.excluded[k] for k in values if k != "external_ref"}, "updated_at": now},
    ).returning(Case.id, sa.literal_column("xmax = 0"))
    case_id, inserted = session.execute(statement).one()
    return case_id, bool(inserted)


def _upsert_children(session: Session, case_id: int, row: dict, source: str, report: ImportReport) -> None:
    for address in row["addresses"]:
        put = put_address(session, case_id=case_id, kind=address["kind"], text=address["text"],
                          lat=address.get("lat"), lon=address.get("lon"), source=source)
        if put.address.geocode_status == GeocodeStatus.PENDING.value:
            report.pending_address_ids.append(put.address.id)
        if put.moved_from:
            report.moved.append({"external_ref": row["external_ref"], "case_id": case_id,
                                 "kind": put.address.kind.value, "from_address_ids": put.moved_from,
                                 "to_address_id": put.address.id, "visit_ids": put.moved_visit_ids})
    for phone in row["phones"]:
        statement = insert(CasePhone).values(case_id=case_id, number_e164=phone["number"], kind=phone["kind"],
                                             source=source, created_at=utcnow())
        session.execute(statement.on_conflict_do_update(
            index_elements=["case_id", "number_e164"], set_={"kind": statement.excluded.kind}))
    for contact in row["contacts"]:
        statement = insert(CaseContact).values(
            case_id=case_id, name=contact["name"], relationship=contact["relationship"],
            phone_e164=contact.get("phone"), is_guarantor=contact["is_guarantor"], source=source,
            do_not_contact=False, volunteered_to_pay=False, created_at=utcnow())
        session.execute(statement.on_conflict_do_update(
            index_elements=["case_id", "name", "phone_e164"],
            set_={"relationship": statement.excluded.relationship,
                  "is_guarantor": statement.excluded.is_guarantor}))


def import_cases(session: Session, rows: Iterable[dict], *, region: str, source: str = "import") -> ImportReport:
    """Upsert cases by external_ref; each good row is stored, each bad row reported, none half-written."""
    report = ImportReport()
    portfolios = _Portfolios(session)
    for number, raw in enumerate(rows, start=1):
        external_ref = raw.get("external_ref") if isinstance(raw, dict) else None
        try:
            if not isinstance(raw, dict):
                raise _RowError({"_row": "each case must be a JSON object"})
            if isinstance(raw, BrokenRow):
                raise _RowError({"_row": raw["_row"]})
            try:
                row = _import_schema.load(raw)
            except ValidationError as exc:
                raise _RowError(flatten_messages({"json": exc.messages})) from exc
            _normalise_numbers(row, region)
            portfolio_id = portfolios.resolve(row["portfolio"])
            # A savepoint per row: a row that fails in the database leaves nothing behind.
            with session.begin_nested():
                case_id, inserted = _upsert_case(session, row, portfolio_id)
                _upsert_children(session, case_id, row, source, report)
        except _RowError as exc:
            report.reject(number, external_ref, exc.errors)
            continue
        if inserted:
            report.created += 1
        else:
            report.updated += 1
    return report


def get_case(session: Session, case_id: int) -> Case:
    """Return the case with its addresses, phones and contacts, or raise NotFound."""
    case = session.scalar(
        sa.select(Case).where(Case.id == case_id)
        .options(selectinload(Case.addresses), selectinload(Case.phones), selectinload(Case.contacts)))
    if case is None:
        raise NotFound("case", case_id)
    return case


def list_cases(session: Session, *, contact_status=None, portfolio_id=None, q=None, not_located=None, page=1,
               page_size=100):
    """Return one page of cases and the total matching."""
    query = sa.select(Case)
    if not_located is not None:
        # A case is "not located" while one of its current addresses cannot be routed to.
        unlocated = sa.exists().where(CaseAddress.case_id == Case.id, CaseAddress.superseded_at.is_(None),
                                      not_located_clause())
        query = query.where(unlocated if not_located else ~unlocated)
    if contact_status is not None:
        query = query.where(Case.contact_status == contact_status)
    if portfolio_id is not None:
        query = query.where(Case.portfolio_id == portfolio_id)
    if q:
        # The search text is literal: %, _ and the escape character itself match only themselves.
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(Case.external_ref.ilike(pattern, escape="\\"),
                                   Case.debtor_name.ilike(pattern, escape="\\")))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Case.id).limit(page_size).offset((page - 1) * page_size))
    return list(rows), total


def case_summary(case: Case) -> dict:
    """The list view of a case."""
    return {
        "id": case.id, "external_ref": case.external_ref, "portfolio_id": case.portfolio_id,
        "portfolio": case.portfolio.code, "debtor_name": case.debtor_name, "amount_due": case.amount_due,
        "currency": case.currency, "days_past_due": case.days_past_due, "timezone": case.timezone,
        "contact_status": case.contact_status.value, "status_changed_at": case.status_changed_at,
        "updated_at": case.updated_at,
    }


def case_record(case: Case, *, masked: bool) -> dict:
    """The full record; phone numbers masked for roles that do not dial them."""
    show = mask_phone if masked else (lambda n: n)
    record = case_summary(case)
    record["masked"] = masked
    record["addresses"] = [address_view(a) for a in case.addresses]
    record["phones"] = [
        {"id": p.id, "number": show(p.number_e164), "kind": p.kind, "source": p.source,
         "source_ref": p.source_ref} for p in case.phones]
    record["contacts"] = [
        {"id": c.id, "name": c.name, "relationship": c.relationship, "phone": show(c.phone_e164),
         "is_guarantor": c.is_guarantor, "do_not_contact": c.do_not_contact,
         "volunteered_to_pay": c.volunteered_to_pay, "source": c.source, "source_ref": c.source_ref}
        for c in case.contacts]
    return record


def add_phone(session: Session, *, case_id: int, number_e164: str, source: str, source_ref: str,
              kind: str = "mobile") -> bool:
    """A number learnt later (a visit, tracing) joins the case's phones; False if it was already there."""
    return bool(session.execute(insert(CasePhone).values(
        case_id=case_id, number_e164=number_e164, kind=kind, source=source, source_ref=source_ref,
        created_at=utcnow()).on_conflict_do_nothing()).rowcount)


def add_contact(session: Session, *, case_id: int, name: str, relationship: str, phone_e164: str, source: str,
                source_ref: str) -> bool:
    """A third party learnt later joins the case's contacts, never told the debt; False if already there.

    Third parties are reached only to reach the debtor: volunteered_to_pay starts False.
    """
    return bool(session.execute(insert(CaseContact).values(
        case_id=case_id, name=name, relationship=relationship, phone_e164=phone_e164, is_guarantor=False,
        do_not_contact=False, volunteered_to_pay=False, source=source, source_ref=source_ref,
        created_at=utcnow()).on_conflict_do_nothing()).rowcount)


def set_contact_status(case: Case, status: ContactStatus, changed_at) -> None:
    """Move the case's contact status (the contacts feature decides when, and keeps the history)."""
    case.contact_status, case.status_changed_at = status, changed_at


def set_do_not_contact(contact: CaseContact, *, active: bool, at) -> None:
    """Set or lift a third party's do-not-contact flag (contacts records the event and the audit)."""
    contact.do_not_contact = active
    contact.do_not_contact_at = at if active else None


def set_volunteered_to_pay(contact: CaseContact) -> None:
    """A third party volunteered to pay: from now on they may be told the amount."""
    contact.volunteered_to_pay = True
