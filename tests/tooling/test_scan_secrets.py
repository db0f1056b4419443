"""scripts/scan_secrets.py: it finds every kind of leak it claims to, names no secret, and refuses an empty scan."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import base64
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("scan_secrets", REPO / "scripts" / "scan_secrets.py")
scan_secrets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scan_secrets)

KEY_BODY = ["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
            "QyNTUxOQAAACBmYWtlZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2UAAAAAA"]
PRIVATE_KEY = "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *KEY_BODY, "-----END OPENSSH PRIVATE KEY-----", ""])
DB_SECRET = json.dumps({"username": "slurm", "password": "db-password-0123456789", "host": "db.example"})


@pytest.fixture
def outputs(tmp_path):
    (tmp_path / "stored-secrets-1.json").write_text(json.dumps([PRIVATE_KEY, DB_SECRET]))
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "clean.log").write_text("ok: [localhost] => {\"key_name\": \"pcluster-v-p\", \"host\": \"db.example\"}\n")
    return tmp_path


def findings(outputs):
    return scan_secrets.scan(outputs, scan_secrets.stored_secrets(outputs))[0]


def test_clean_outputs_pass(outputs):
    assert findings(outputs) == []


@pytest.mark.parametrize("leak, kind", [
    (PRIVATE_KEY, "a secret stored in the emulator"),  # the whole key, as plain text
    (json.dumps({"msg": PRIVATE_KEY}), "a private key block"),  # JSON-escaped, as in a task result
    ("the body only: " + KEY_BODY[1], "a secret stored in the emulator"),  # no armour: one body line is enough
    (json.dumps({"SecretString": DB_SECRET}), "a secret stored in the emulator"),  # a field of a JSON secret
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n", "a private key block"),  # a key nobody stored
])
def test_each_kind_of_leak_is_found_and_not_printed(outputs, leak, kind):
    (outputs / "runs" / "leak.log").write_text("TASK [x]\n" + leak + "\n")
    found = findings(outputs)
    assert found and all(f.startswith(str(outputs / "runs" / "leak.log") + ":") for f in found), found
    assert any(kind in f for f in found), found
    assert not any(part in "".join(found) for part in KEY_BODY + ["db-password-0123456789"])


def test_molecule_secrets_are_read_from_the_scenarios_also_decoded():
    secrets = scan_secrets.molecule_secrets(REPO / "roles")
    assert "molecule-slurmdbd-password" in secrets
    assert "obi-hpc-provisioner-molecule-test-munge-key-0123456789" in secrets
    assert base64.b64encode(b"obi-hpc-provisioner-molecule-test-munge-key-0123456789").decode() in secrets


def test_a_scan_that_would_prove_nothing_fails(tmp_path, capsys):
    assert scan_secrets.main(["scan", str(tmp_path / "missing")]) == 1
    (tmp_path / "out").mkdir()
    assert scan_secrets.main(["scan", str(tmp_path / "out")]) == 1  # no file to scan
    assert "would prove nothing" in capsys.readouterr().err


def test_main_fails_on_a_leak(outputs, capsys):
    assert scan_secrets.main(["scan", str(outputs)]) == 0
    (outputs / "runs" / "leak.log").write_text(DB_SECRET)
    assert scan_secrets.main(["scan", str(outputs)]) == 1
    assert "leak.log:1" in capsys.readouterr().out
