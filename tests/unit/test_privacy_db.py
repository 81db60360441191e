import pytest

from sdr_semcom.privacy import DatabaseError, PrivacyDatabase


def test_default_roundtrip_and_hash(tmp_path):
    db = PrivacyDatabase.default()
    p = db.save(tmp_path / "db.yaml")
    back = PrivacyDatabase.load(p)
    assert back.content_hash == db.content_hash and back.secret == db.secret
    assert [e.id for e in back.entries] == ["faces", "text", "plates"]
    back.entries[0].description = "a face"
    assert back.content_hash != db.content_hash
    assert PrivacyDatabase.default().secret != db.secret  # fresh secret each time


def test_enrolment_roundtrip(tmp_path):
    db = PrivacyDatabase.default()
    db.enroll("alice", [[0.1] * 128], ["alice.jpg"], policy="keep")
    back = PrivacyDatabase.load(db.save(tmp_path / "db.yaml"))
    e = back.entry("alice")
    assert e.policy == "keep" and len(e.enrolled.embeddings[0]) == 128
    with pytest.raises(DatabaseError, match="only face entries"):
        back.enroll("text", [[0.0] * 128], [])
    with pytest.raises(DatabaseError, match="must match"):
        back.enroll("Bad Id", [[0.0] * 128], [])


GOOD = """version: 1
name: t
secret: {secret}
entries:
  - id: faces
    category: face
    description: human face
    policy: remove
  - id: signs
    category: text
    description: street signs
    policy: {policy}
"""


@pytest.mark.parametrize(
    "text, match",
    [
        (GOOD.format(secret="ab" * 32, policy="blur"), r"db.yaml:12: entries\[1\].policy: must be one of remove, keep"),
        (GOOD.format(secret="abc", policy="remove"), r"db.yaml:3: secret: must be 64 hexadecimal digits"),
        (GOOD.format(secret="ab" * 32, policy="remove").replace("version: 1", "version: 7"), r":1: version: must be 1"),
        (GOOD.format(secret="ab" * 32, policy="remove").replace("id: signs", "id: faces"), r":9: entries\[1\].id: duplicate"),
        (GOOD.format(secret="ab" * 32, policy="remove").replace("category: text", "category: tattoo"),
         r":10: entries\[1\].category: must be one of"),
        (GOOD.format(secret="ab" * 32, policy="remove") + "colour: red\n", r":13: colour: unknown field"),
        ("version: 1\nsecret: [unclosed\n", r"not valid YAML"),
        ("- just\n- a list\n", r"document: expected a mapping"),
    ],
)
def test_malformed_databases_name_line_and_field(tmp_path, text, match):
    p = tmp_path / "db.yaml"
    p.write_text(text)
    with pytest.raises(DatabaseError, match=match):
        PrivacyDatabase.load(p)


def test_enrolled_embeddings_are_checked(tmp_path):
    p = tmp_path / "db.yaml"
    text = GOOD.format(secret="ab" * 32, policy="remove").replace(
        "    policy: remove\n  - id: signs", "    policy: remove\n    enrolled: {embeddings: [[1, 2, 3]]}\n  - id: signs")
    p.write_text(text)
    with pytest.raises(DatabaseError, match=r":9: entries\[0\].enrolled: embeddings must be"):
        PrivacyDatabase.load(p)


def test_missing_file():
    with pytest.raises(DatabaseError, match="cannot read"):
        PrivacyDatabase.load("/nonexistent/db.yaml")


def test_file_is_private_and_a_readable_one_is_warned_about(tmp_path, caplog):
    p = tmp_path / "db.yaml"
    db = PrivacyDatabase.default()
    db.save(p)
    assert p.stat().st_mode & 0o777 == 0o600
    p.chmod(0o644)
    with caplog.at_level("WARNING", logger="sdr_semcom.privacy.database"):
        PrivacyDatabase.load(p)
    assert "readable by group or others (mode 0644)" in caplog.text and "chmod 600" in caplog.text
    db.save(p)  # overwriting a world-readable file leaves it private
    assert p.stat().st_mode & 0o777 == 0o600 and [x.name for x in tmp_path.iterdir()] == ["db.yaml"]
    caplog.clear()
    with caplog.at_level("WARNING", logger="sdr_semcom.privacy.database"):
        PrivacyDatabase.load(p)
    assert caplog.text == ""


def test_secret_never_in_repr():
    db = PrivacyDatabase.default()
    assert db.secret.hex() not in repr(db) and repr(db.secret) not in repr(db) and "secret" not in repr(db)


def test_entries_hash_is_the_version_of_the_entries():
    a, b = PrivacyDatabase.default(), PrivacyDatabase.default()
    assert a.secret != b.secret and a.entries_hash == b.entries_hash and a.content_hash != b.content_hash
    b.entries[1].policy = "keep"
    assert a.entries_hash != b.entries_hash
