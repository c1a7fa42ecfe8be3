"""The pool's files read, cleaned, split and deduplicated (generators/pool.py), and twelve hostile files
each skipped with one line naming it and why while the good files around them are kept."""

import json
import os
import zipfile

import pytest

from seedfactory.generators.pool import clean, ingest, units
from seedfactory.generators.pool_read import pool_files, read_file
from seedfactory.schemas import RejectLog
from seedfactory.schemas.config import PoolConfig

CFG = PoolConfig(max_bytes=5_000_000, min_chars=5)


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose page shows `text` (offsets in the xref are exact)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def hostile(tmp_path):
    """Ten files (the test adds two) that must each be skipped, with the words their one line must contain."""
    from pypdf import PdfWriter

    d = tmp_path / "pool"
    d.mkdir()
    (d / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with zipfile.ZipFile(d / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:  # 8 MB of zeros in ~8 KB
        z.writestr("word/document.xml", b"\0" * 8_000_000)
    with open(d / "huge.txt", "wb") as f:  # 1 GB, sparse: costs no disk, and must never be read
        f.truncate(1 << 30)
    (d / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer <<>>\n%%EOF")
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    writer.encrypt("secret")
    with open(d / "locked.pdf", "wb") as f:
        writer.write(f)
    (d / "empty.md").write_bytes(b"")
    (d / "latin1.txt").write_bytes("Réservation pour Hélène, merci beaucoup".encode("latin-1"))
    (d / "scripts.html").write_text("<html><head><script>document.write('PWNED'); fetch('http://evil')</script>"
                                    "<style>body{}</style></head><body><script>alert('PWNED')</script></body></html>")
    (d / "bad.jsonl").write_text('{"text": "a fine first row of text"}\nthis is not json\n')
    with zipfile.ZipFile(d / "archive.zip", "w") as z:
        z.writestr("inner.txt", "hello")
    return d, {"binary.txt": "binary", "bomb.docx": "zip bomb", "huge.txt": "pool.max_bytes",
               "broken.pdf": "malformed PDF", "locked.pdf": "encrypted PDF", "empty.md": "empty file",
               "latin1.txt": "not UTF-8", "scripts.html": "no text", "bad.jsonl": "line 2: not JSON",
               "archive.zip": "unsupported file type .zip"}


def test_twelve_hostile_files_are_each_skipped_with_one_line_and_the_rest_is_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    d, why = hostile(tmp_path)
    (d / "deep.jsonl").write_text('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    pq.write_table(pa.table({"text": ["x" * 1000] * 6000}), d / "wide.parquet", compression="zstd")  # 6 MB in ~1 KB
    why |= {"deep.jsonl": "nested too deeply", "wide.parquet": "more than pool.max_bytes"}
    (d / "good.txt").write_text("Please book Ana a dental check on 3 May.\n")
    (d / "page.html").write_text("<html><body><script>document.title='PWNED'</script><article><p>Physio booking "
                                 "for next Tuesday at ten, knee pain after running.</p></article></body></html>")
    (d / "doc.pdf").write_bytes(minimal_pdf("Eye test wanted on Friday afternoon please"))
    lines, reject = [], RejectLog("pool")
    items, counts = ingest(pool_files(str(d)), CFG, reject, lines.append)
    assert counts["files"] == 15 and counts["files_skipped"] == 12 and counts["files_read"] == 3
    assert len(lines) == 12  # one line per bad file
    for name, words in why.items():
        mine = [line for line in lines if f"/{name}:" in line]
        assert len(mine) == 1 and words in mine[0], (name, mine)
    assert sorted(r.reason for r in reject.records) == ["pool_file_skipped"] * 12
    texts = {it.text for it in items}
    assert texts == {"Please book Ana a dental check on 3 May.",
                     "Physio booking for next Tuesday at ten, knee pain after running.",
                     "Eye test wanted on Friday afternoon please"}
    assert not any("PWNED" in t or "script" in t for t in texts)  # scripts stripped, never run
    pdf_item = next(it for it in items if it.file.endswith("doc.pdf"))
    assert pdf_item.page == 1 and (pdf_item.start, pdf_item.end) == (0, len(pdf_item.text))


def test_rows_of_jsonl_csv_parquet_and_docx_paragraphs(tmp_path):
    import docx
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.jsonl").write_text(json.dumps({"id": 1, "message": "first message row here"}) + "\n\n"
                                      + json.dumps({"id": 2, "message": "second message row here"}) + "\n")
    (tmp_path / "b.csv").write_text('when,body\n2026-01-01,"a body that spans\ntwo lines"\n')
    pq.write_table(pa.table({"text": ["a parquet row of text", None]}), tmp_path / "c.parquet")
    document = docx.Document()
    document.add_paragraph("First paragraph of the letter.")
    document.add_paragraph("Second paragraph, a different one.")
    document.save(tmp_path / "d.docx")
    items, _ = ingest(pool_files(str(tmp_path)), PoolConfig(min_chars=5, unit="paragraph"), RejectLog(), print)
    got = {(os.path.basename(it.file), it.row, it.text) for it in items}
    assert got == {("a.jsonl", 1, "first message row here"), ("a.jsonl", 3, "second message row here"),
                   ("b.csv", 1, "a body that spans\ntwo lines"), ("c.parquet", 1, "a parquet row of text"),
                   ("d.docx", None, "First paragraph of the letter."),
                   ("d.docx", None, "Second paragraph, a different one.")}


def test_a_row_file_without_an_input_column_names_the_columns(tmp_path):
    (tmp_path / "x.csv").write_text("when,who\n1,2\n")
    with pytest.raises(Exception, match="no input column.*columns: when, who"):
        list(read_file(tmp_path / "x.csv", 1000))
    with pytest.raises(Exception, match="no column 'msg' \\(pool.column\\)"):
        list(read_file(tmp_path / "x.csv", 1000, "msg"))


def test_cleaning_and_unit_spans():
    text = clean("  Hello\t\tthere\u200b.\r\n\r\n\r\n\r\nSecond   block\x07 here.\nstill second.  ")
    assert text == "Hello there.\n\nSecond block here.\nstill second."
    paras = units(text, "paragraph", 0, 0)
    assert [text[a:b] for a, b in paras] == ["Hello there.", "Second block here.\nstill second."]
    words = " ".join(f"w{i}" for i in range(25))
    chunks = [words[a:b] for a, b in units(words, "chunk", 10, 3)]
    assert chunks[0] == " ".join(f"w{i}" for i in range(10))
    assert chunks[1].startswith("w7 w8 w9 w10")  # 3 tokens of overlap
    assert chunks[-1] == "w21 w22 w23 w24" and len(chunks) == 4  # windows at 0, 7, 14, 21


def test_exact_near_and_eval_duplicates_leave_with_their_reason(tmp_path):
    base = "Could I book a physiotherapy session for my left knee next Thursday morning around nine please"
    rows = [base, base.upper(), base + " thanks", "A completely different request about an eye test on Monday",
            "Booking a blood test for Mr Smith on the fifth of June at eight in the morning"]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in rows))
    reject = RejectLog()
    items, counts = ingest([tmp_path / "p.jsonl"], PoolConfig(), reject, print,
                           eval_texts=["booking a blood test for Mr Smith on the fifth of June at eight in the "
                                       "morning"])
    assert [it.text for it in items] == [base, rows[3]]
    reasons = {r.reason: r for r in reject.records}
    assert set(reasons) == {"pool_duplicate", "pool_near_duplicate", "pool_contaminated"}
    assert reasons["pool_duplicate"].dup_of == items[0].id
    assert reasons["pool_near_duplicate"].dup_of == items[0].id and 0.8 <= reasons["pool_near_duplicate"].similarity < 1
    assert "overlaps evaluation case 0" in reasons["pool_contaminated"].detail
    assert counts["units"] == 5 and counts["kept"] == 2


def test_a_glob_and_a_missing_pool():
    assert [p.name for p in pool_files("seeds/pools/appointment-requests/notes/*.html")] == \
        ["webform-1.html", "webform-2.html"]
    with pytest.raises(FileNotFoundError, match="seeds.pool=nope/\\*.txt"):
        pool_files("nope/*.txt")


def test_the_bundled_documents_by_paragraph_and_by_chunk():
    files = pool_files("seeds/pools/clinic-docs")
    reject = RejectLog()
    paras, counts = ingest(files, PoolConfig(unit="paragraph"), reject, print)
    assert counts["files_read"] == 3 and counts["files_skipped"] == 0
    assert any(p.text.startswith("Please cancel at least 24 hours") for p in paras)
    assert not any("analytics" in p.text or "font-family" in p.text for p in paras)  # script and style dropped
    assert {r.reason for r in reject.records} == {"pool_too_short"}  # the headings, alone
    chunks, _ = ingest(files, PoolConfig(unit="chunk", chunk_tokens=40, chunk_overlap=8), RejectLog(), print)
    md = [c for c in chunks if c.file.endswith("booking-policy.md")]
    text = clean((files[0].read_text()))
    assert files[0].name == "booking-policy.md" and len(md) > 3
    assert all(text[c.start:c.end] == c.text for c in md)  # the span is the chunk's place in its document
    assert all(a.start < b.start < a.end for a, b in zip(md, md[1:]))  # consecutive chunks overlap
