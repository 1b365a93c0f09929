"""CSV case rows, turned into the same shape as a JSON case."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from backend.errors import DomainError

REQUIRED_COLUMNS = ("external_ref", "debtor_name", "amount_due", "currency", "days_past_due")
KNOWN_COLUMNS = REQUIRED_COLUMNS + ("portfolio", "timezone", "address_text", "lat", "lon", "phone",
                                   "address_kind", "phone_kind", "coord_sys")


class BrokenRow(dict):
    """A CSV row that could not be split into the header's columns."""


def _number(text: str | None):
    # Leave unparseable text as is so the schema names the field and the value.
    if text is None or text.strip() == "":
        return None
    try:
        return int(text) if text.strip().lstrip("-").isdigit() else float(text)
    except ValueError:
        return text


def _case_from_row(row: dict) -> dict:
    case = {
        "external_ref": row.get("external_ref") or None,
        "portfolio": row.get("portfolio") or None,
        "debtor_name": row.get("debtor_name") or None,
        "amount_due": row.get("amount_due") or None,
        "currency": (row.get("currency") or "").strip().upper() or None,
        "days_past_due": _number(row.get("days_past_due")),
        "addresses": [],
        "phones": [],
        "contacts": [],
    }
    if row.get("timezone"):
        case["timezone"] = row["timezone"].strip()
    if row.get("address_text") or row.get("lat") or row.get("lon"):
        address = {"kind": row.get("address_kind") or "home", "text": row.get("address_text"),
                   "lat": _number(row.get("lat")), "lon": _number(row.get("lon"))}
        if row.get("coord_sys"):
            address["coord_sys"] = row["coord_sys"].strip().lower()
        case["addresses"].append(address)
    if row.get("phone"):
        case["phones"].append({"number": row["phone"], "kind": row.get("phone_kind") or "mobile"})
    return {k: v for k, v in case.items() if v is not None}


def read_case_rows(text: str, max_rows: int) -> Iterator[dict]:
    """Yield one case dict per data row; a row with the wrong column count yields a BrokenRow."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DomainError("validation_error", f"CSV is missing columns: {', '.join(missing)}", status=422,
                          fields={"file": f"missing columns {missing}"})
    count = 0
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        if count > max_rows:
            raise DomainError("too_large", f"more than {max_rows} rows", status=413, fields={"file": "too many rows"})
        if len(cells) != len(header):
            yield BrokenRow(_row=f"expected {len(header)} columns, got {len(cells)}",
                            external_ref=cells[header.index("external_ref")] if len(cells) > header.index("external_ref") else None)
            continue
        yield _case_from_row(dict(zip(header, (c.strip() for c in cells), strict=True)))
