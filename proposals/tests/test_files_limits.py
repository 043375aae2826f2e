"""Zip bombs dressed as DOCX or ODT attachments are refused by their declared sizes, before a member is read."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from proposals import services
from proposals.tests.test_services import DOCX, setting  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def bomb(kind: str, *, megabytes: int) -> bytes:
    """A DOCX or ODT whose one big member is `megabytes` of a repeated paragraph: a few hundred KB on the wire."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if kind == "odt":
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
            name = "content.xml"
        else:
            archive.writestr("[Content_Types].xml", "<Types/>")
            name = "word/document.xml"
        with archive.open(name, "w") as member:
            block = b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>" * (1024 * 1024 // 38 + 1)
            for _ in range(megabytes):
                member.write(block[: 1024 * 1024])
    return buffer.getvalue()


def post(api_client, setting, name, content):  # noqa: F811
    _officer, round_, (_pwb, clerk, _head), _tb = setting
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title="標題", summary="摘要")
    api_client.force_authenticate(clerk)
    response = api_client.post(
        f"/api/v1/proposals/{proposal.pk}/attachments/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )
    return response, proposal


@pytest.mark.parametrize("kind", ["docx", "odt"])
def test_a_document_expanding_to_200_mb_is_refused_without_reading_it(setting, api_client, kind, monkeypatch):  # noqa: F811
    content = bomb(kind, megabytes=200)
    assert len(content) < 1024 * 1024
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a) or pytest.fail("inflated"))
    response, proposal = post(api_client, setting, f"report.{kind}", content)
    assert response.status_code == 400
    assert "超過上限 100 MB" in response.json()["file"][0]
    assert not proposal.attachments.exists()
    assert opened == []


def test_a_member_inflating_more_than_100_times_is_refused(setting, api_client):  # noqa: F811
    response, proposal = post(api_client, setting, "report.docx", bomb("docx", megabytes=50))
    assert response.status_code == 400
    assert "壓縮比超過 100 倍" in response.json()["file"][0]
    assert not proposal.attachments.exists()


def test_an_ordinary_document_still_attaches(setting, api_client):  # noqa: F811
    response, proposal = post(api_client, setting, "report.docx", DOCX)
    assert response.status_code == 201, response.json()
    assert proposal.attachments.get().kind == "docx"
