"""Looking at a file before loading it: encoding, delimiter, kind, header problems, iJw message validity.

Everything wrong here is a reason to quarantine the whole file (codes in the codebook's
``quarantine_reasons.csv``). Nothing here reads a row's content into a log or an error message.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path

import duckdb
from lxml import etree

from rmj_dagster.intake.ijw import MESSAGES, Message
from rmj_dagster.intake.kinds import IDENTITY_COLUMNS, KINDS, Kind, kind_of_header

_CHUNK = 1 << 20
_DELIMITERS = (";", ",", "\t")


class Quarantine(Exception):
    """The file cannot be loaded; ``code`` is a quarantine reason code, ``message`` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError, MemoryError, duckdb.IOException, duckdb.TransactionException, duckdb.FatalException,
    duckdb.InterruptException, duckdb.OutOfMemoryException,
)
"""Failures of the machine, not of the file (disk full, lock, memory): the run fails and keeps the original
in ``received/`` for the retry, instead of quarantining a good delivery."""


def as_quarantine(error: Exception) -> Quarantine | None:
    """Any failure while reading a delivery, as a quarantine reason: never a failed run for a file's content.

    ``None`` for an ``ENVIRONMENT_ERRORS`` failure (the caller re-raises it). An unexpected error is named
    by its type only: its text may quote a path, a name or a value.
    """
    if isinstance(error, Quarantine):
        return error
    if isinstance(error, ENVIRONMENT_ERRORS):
        return None
    return Quarantine(
        "unreadable_file",
        f"reading the file failed unexpectedly ({type(error).__name__}); the file is kept for a data engineer",
    )


@dataclass(frozen=True)
class Inspection:
    """What a readable delivery is and how to read it."""

    kind: Kind
    source_format: str  # csv, or the iJw message: jw305, jw307
    encoding: str | None = None  # utf-8, utf-8-sig or cp1252 (CSV only)
    delimiter: str | None = None
    header: tuple[str, ...] = ()  # normalised column names, in file order
    identity_column: str | None = None  # bsn or pseudoniem
    extra_columns: tuple[str, ...] = field(default=())
    blank_lines: bool = False  # lines of only spaces/tabs (read as blank lines, CSV only)


def normalise_column(name: str) -> str:
    return name.replace("\ufeff", "").strip().strip('"').strip().lower()


# A well-formed UTF-8 multi-byte character. In a file that is not UTF-8 as a whole, such a sequence means
# two encodings were mixed (e.g. rows appended by another program): the Windows-1252 reading would turn
# "é" into "Ã©". Real Windows-1252 text almost never holds these byte pairs (an accented capital followed
# by a symbol such as "©" or "“"), so such a file is quarantined rather than read with mangled text.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xef][\x80-\xbf]{2}"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
)


def sniff_encoding(path: Path) -> str:
    """utf-8-sig / utf-8 when the whole file decodes as UTF-8, else cp1252 if that decodes and holds no
    UTF-8 character (mixed encodings are refused); streamed."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE)):
        raise Quarantine("unreadable_encoding", "the file is UTF-16/UTF-32; deliver UTF-8 or Windows-1252 text")
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    if b"\x00" in chunk:
                        raise Quarantine("unreadable_encoding", "the file contains NUL bytes: it is not a text file")
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding == "cp1252" and _holds_utf8(path):
            raise Quarantine(
                "unreadable_encoding",
                "the file mixes UTF-8 and Windows-1252 text (some characters in each); deliver it in one encoding",
            )
        if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return encoding
    raise Quarantine("unreadable_encoding", "the bytes are neither UTF-8 nor Windows-1252 text")


def _holds_utf8(path: Path) -> bool:
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if _UTF8_MULTIBYTE.search(carry + chunk):
                return True
            carry = chunk[-3:]
    return False


def _has_blank_lines(path: Path, encoding: str) -> bool:
    """Whether a line holds only spaces or tabs (DuckDB's reader skips empty lines, not these)."""
    with path.open("r", encoding=encoding, newline="") as handle:
        return any(line.strip("\r\n") and not line.strip() for line in handle)


def _first_line(path: Path, encoding: str) -> str:
    with path.open("r", encoding=encoding, newline="") as handle:
        for line in handle:
            if line.strip():
                return line.rstrip("\r\n")
    return ""


def inspect_file(path: Path) -> Inspection:
    """Decide what the file is, or raise ``Quarantine`` with the reason."""
    with path.open("rb") as handle:
        head = handle.read(_CHUNK)
    if not head.strip():
        raise Quarantine("empty_file", "the file is empty")
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped.startswith(b"<"):
        return _inspect_xml(path)
    return _inspect_csv(path)


def inspect_claimed(path: Path) -> Inspection:
    """``inspect_file`` of a claimed file (in ``received/<delivery_id>/``, owner-only, never written by the
    pipeline), once per process: the receipt inspects it and the TTP step of the same run needs the same
    inspection. A file whose inode, size, mtime or ctime differ (replaced, rewritten, moved) is inspected anew;
    a file that fails inspection is never remembered."""
    stat = path.stat()
    return _inspect_unchanged(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@lru_cache(maxsize=4096)
def _inspect_unchanged(path: str, _inode: int, _size: int, _mtime_ns: int, _ctime_ns: int) -> Inspection:
    return inspect_file(Path(path))


def kind_of_head(head: bytes) -> str | None:
    """The kind a file's first bytes announce, by the rules ``inspect_file`` recognises it by (an iJw message's
    namespace, a CSV header's signature column), without validating anything: for the readable partition key,
    which the sensor makes before any run reads the file. ``None`` when no known kind is recognised; never raises."""
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped.startswith(b"<"):
        found = {message.kind for message in MESSAGES.values() if message.namespace.encode() in stripped}
        return found.pop() if len(found) == 1 else None
    header = next((line for line in stripped.decode("utf-8", errors="replace").splitlines() if line.strip()), "")
    kind = kind_of_header([normalise_column(c) for c in header.split(max(_DELIMITERS, key=header.count))])
    return kind.name if kind is not None else None


def _inspect_csv(path: Path) -> Inspection:
    encoding = sniff_encoding(path)
    header_line = _first_line(path, encoding)
    delimiter = max(_DELIMITERS, key=header_line.count)
    columns = [normalise_column(c) for c in header_line.split(delimiter)]
    kind = kind_of_header(columns)
    if kind is None:
        raise Quarantine(
            "unknown_kind",
            "the header matches no delivery kind (expected a CEM+, stop-zorg or doelrealisatie header)",
        )
    if len(set(columns)) != len(columns):
        raise Quarantine("unreadable_csv", "the header names a column more than once")
    missing = [c for c in kind.required if c not in columns]
    if missing:
        raise Quarantine("missing_required_column", f"{kind.name} file lacks required column(s): {', '.join(missing)}")
    identity = [c for c in IDENTITY_COLUMNS if c in columns]
    if len(identity) != 1:
        what = "both bsn and pseudoniem" if identity else "neither bsn nor pseudoniem"
        raise Quarantine("mixed_identity", f"the file carries {what}; exactly one of the two is required")
    known = set(kind.columns) | set(IDENTITY_COLUMNS)
    extra = tuple(c for c in columns if c not in known)
    return Inspection(
        kind=kind,
        source_format="csv",
        encoding=encoding,
        delimiter=delimiter,
        header=tuple(columns),
        identity_column=identity[0],
        extra_columns=extra[:MAX_EXTRA_COLUMNS_REPORTED],
        blank_lines=_has_blank_lines(path, encoding),
    )


MAX_EXTRA_COLUMNS_REPORTED = 20
"""At most this many extra columns are reported (how each may be stored: ``identifiers.column_names_for_audit``)."""


@cache
def ijw_schema(xsd_name: str) -> etree.XMLSchema:
    """An iJw 3.2 message schema shipped with the package (``JW307.xsd``; imports the basisschema beside it)."""
    xsd = Path(str(files("rmj_dagster").joinpath(f"schemas/ijw-3.2/{xsd_name}")))
    return etree.XMLSchema(etree.parse(str(xsd)))


_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)


def _refuse_doctype(path: Path) -> None:
    """A delivery has no business declaring a DTD or entities: refused before the parser sees it, so no
    entity (harmless ``<!ENTITY c "47A13">`` or XXE) is ever expanded, resolved or validated."""
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if _DOCTYPE.search(carry + chunk) or b"<!ENTITY" in (carry + chunk).upper():
                raise Quarantine("xml_doctype_refused", "the XML declares a DOCTYPE (DTD or entities); deliver the message without one")
            carry = chunk[-16:]


def parse_ijw(path: Path) -> tuple[etree._ElementTree, Message]:
    """Parse an iJw message (no DTD, no network, no entities), tell JW305 from JW307 by namespace and
    validate it against that message's schema; raise ``Quarantine`` otherwise."""
    _refuse_doctype(path)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as error:
        raise Quarantine("xml_not_well_formed", f"the XML cannot be parsed (line {error.lineno})") from None
    except OSError:  # lxml reports bytes invalid for the declared encoding as a read error
        raise Quarantine("xml_not_well_formed", "the XML holds bytes that are invalid in its declared encoding") from None
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:  # the byte scan above missed it
        raise Quarantine("xml_doctype_refused", "the XML declares a DOCTYPE (DTD or entities); deliver the message without one")
    message = MESSAGES.get(etree.QName(tree.getroot()).namespace)
    if message is None:
        raise Quarantine("unknown_kind", "the XML is not a JW305 or JW307 (iJw 3.2) message")
    schema = ijw_schema(message.xsd)
    try:
        valid = schema.validate(tree)
    except etree.Error:
        raise Quarantine(f"xml_not_valid_{message.code}", f"the message cannot be validated against the {message.code.upper()} schema") from None
    if not valid:
        first = schema.error_log.filter_from_errors()[0] if schema.error_log else None
        where = f" (line {first.line}: {_schema_error_text(first.message)})" if first else ""
        name = message.code.upper()
        raise Quarantine(f"xml_not_valid_{message.code}", f"the message does not validate against the {name} schema{where}")
    return tree, message


def _schema_error_text(message: str) -> str:
    """Keep the schema's complaint about structure, but no quoted value (it may be a BSN or a name)."""

    def keep_element_names(match: re.Match) -> str:
        text = match.group(1)
        return f"'{text.split('}')[-1]}'" if text.startswith("{") else "'…'"

    return re.sub(r"'([^']*)'", keep_element_names, message).replace("\n", " ")[:200]


def _inspect_xml(path: Path) -> Inspection:
    _, message = parse_ijw(path)
    return Inspection(kind=KINDS[message.kind], source_format=message.code, identity_column="bsn")
