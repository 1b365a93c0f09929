"""Read the items of a JSON array, JSON Lines or wrapper object one at a time."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator


def iter_items(text: io.TextIOWrapper) -> Iterator:
    """Yield the items of a JSON document without loading a large array at once; junk comes as str."""
    first = text.read(1)
    while first.isspace():
        first = text.read(1)
    if first == "[":
        yield from _json_array(text)
    elif first == "{":
        line = first + text.readline()
        try:
            yield from _json_lines(json.loads(line), text)
        except json.JSONDecodeError:  # one pretty-printed object: {"calls": [...]}
            yield from _unwrap(_loads(line + text.read()))
    elif first:
        yield first + text.readline()[:79]


def _loads(text: str) -> object:
    """Parse a whole document, returning the text itself when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text[:80]


def _unwrap(document: object) -> list:
    """Return the array inside a wrapper object, or the document as the only item."""
    if isinstance(document, dict):
        return next((value for value in document.values() if isinstance(value, list)), [document])
    return document if isinstance(document, list) else [document]


def _json_lines(first: object, text: io.TextIOWrapper) -> Iterator:
    """Yield one item per line, a bad line costing only itself."""
    if isinstance(first, dict) and any(isinstance(value, list) for value in first.values()):
        yield from _unwrap(first)
        return
    yield first
    for line in text:
        if line.strip():
            yield _loads(line)


def _json_array(text: io.TextIOWrapper, chunk: int = 1 << 16) -> Iterator:
    """Decode the items of a JSON array one at a time from a text stream."""
    decoder, buffer, pos, eof = json.JSONDecoder(), "", 0, False
    while True:
        while pos < len(buffer) and buffer[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(buffer) - 1 and not eof:
            more = text.read(chunk)
            buffer, pos, eof = buffer[pos:] + more, 0, not more
            continue
        if pos >= len(buffer) or buffer[pos] == "]":
            return
        try:
            item, pos = decoder.raw_decode(buffer, pos)
        except json.JSONDecodeError:
            if eof:  # truncated or broken: the rest of the array cannot be resynchronised
                yield buffer[pos:pos + 80]
                return
            more = text.read(chunk)
            buffer, pos, eof = buffer[pos:] + more, 0, not more
            continue
        yield item
