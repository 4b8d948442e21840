"""Regenerate the committed bad-input corpus in tests/data/bad/ (deterministic; every file < 50 KB).

Run: .venv/bin/python tests/data/make_bad_corpus.py

Not committed, made at test time instead: ten_thousand_columns.csv, the "too large" upload and
path-traversal file names (tests/unit/test_ingest_corpus.py).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import zipfile
from pathlib import Path

BAD = Path(__file__).resolve().parent / "bad"


def write(name: str, data: bytes) -> None:
    (BAD / name).write_bytes(data)


def excel_formulas_merged(path: Path) -> None:
    """A workbook as Excel saves it: a merged title row, formulas with their cached results (one an error),
    a station name merged over two rows, real date cells and a second sheet."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Flows"
    sheet["A1"] = "Station flows (Rhine)"
    sheet.merge_cells("A1:E1")
    sheet.append(["date", "station", "flow", "flow_x2", "note"])
    sheet.append([dt.datetime(2020, 12, 31), "Basel", 1.5, "=C3*2", "<b>ok</b>"])
    sheet.append([dt.datetime(2021, 1, 1), None, 2.5, "=C4*2", None])
    sheet.merge_cells("B3:B4")
    sheet.append([dt.datetime(2021, 1, 2), "Rhein", 4, "=C5*2", "=1+1 is text"])
    sheet.append([dt.datetime(2021, 1, 3), "Rhein", 3, "=C6/0", None])
    sheet["E5"].data_type = "s"
    notes = workbook.create_sheet("Notes")
    notes.append(["key", "value"])
    notes.append(["units", "m3/s"])
    workbook.save(path)
    # openpyxl writes formulas without results; Excel stores the last computed value next to each formula.
    cached = {"D3": ("n", "3"), "D4": ("n", "5"), "D5": ("n", "8"), "D6": ("e", "#DIV/0!")}
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    xml = members["xl/worksheets/sheet1.xml"].decode()
    for ref, (kind, value) in cached.items():
        xml, count = re.subn(
            rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/>',
            lambda m, ref=ref, kind=kind, value=value: (
                f'<c r="{ref}"{m.group(1)} t="{kind}"><f>{m.group(2)}</f><v>{value}</v>'
            ),
            xml,
        )
        assert count == 1, ref
    members["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)


def main() -> None:
    BAD.mkdir(exist_ok=True)
    write("empty.csv", b"")
    write("header_only.csv", b"date,flow,station\n")
    write("binary_garbage.csv", random.Random(7).randbytes(4096))
    write("wrong_extension.xlsx", b"date,flow\n2020-01-01,1.5\n2020-01-02,2.5\n")
    write(
        "latin1.csv",
        "station,city,flow\nCH01,Zürich,1.5\nCH02,Genève,2.25\nDE03,Köln,3\n".encode("latin-1"),
    )
    write("utf8_bom.csv", "\ufeffdate,flow,river\n2020-01-01,1.5,Aare\n2020-01-02,2.5,Thur\n".encode())
    write(
        "utf16.csv",
        "date\tflow\tcity\r\n2020-01-01\t1.5\tZürich\r\n2020-01-02\t2.5\tSão Paulo\r\n".encode("utf-16"),
    )
    write(
        "semicolon_comma_decimal.csv",
        "Datum;Abfluss;Pegel;Menge\n"
        "31/12/2020;1,5;Zürich;1.234,5\n"
        "01/01/2021;2,25;Basel;2.000,0\n"
        "02/01/2021;;Bern;17,0\n".encode(),
    )
    write(
        "ragged_rows.csv",
        b"date,flow,station\n2020-01-01,1.5,A\n2020-01-02,2.5\n2020-01-03,3.5,B,extra\n2020-01-04,4.5,C\n",
    )
    write(
        "duplicate_and_blank_columns.csv",
        b"date,flow,,flow, Flow ,\n2020-01-01,1,2,3,4,5\n2020-01-02,6,7,8,9,10\n",
    )
    write(
        "html_and_injection.csv",
        b"id,<b>name</b>,value\n"
        b"1,<script>alert(1)</script>,</script>\n"
        b"2,'; DROP TABLE users; --,\"=cmd|' /C calc'!A0\"\n"
        b"3,=cmd|' /C calc'!A0,@SUM(1+1)\n",
    )
    excel_formulas_merged(BAD / "excel_formulas_merged.xlsx")
    for path in sorted(BAD.iterdir()):
        assert path.stat().st_size < 50_000, path
        print(f"{path.stat().st_size:>6}  {path.name}")


if __name__ == "__main__":
    main()
