"""Scan every output the test suites kept for secrets: private keys, passwords, munge keys.

    python scripts/scan_secrets.py [OUTPUTS]      (default .build/test-outputs; exit 1 on a finding)

What it looks for, in every file under OUTPUTS (playbook runs, ansible-runner job events and stdout, Molecule and
pytest output, emulator logs):
- any PEM or OpenSSH private key block header;
- every secret value the emulators stored in Secrets Manager or as an SSM SecureString during the run (the
  deployments' private keys, database passwords: OUTPUTS/stored-secrets-*.json, written by tests/conftest.py), each
  line of a multi-line one (a private key's body lines, also when printed without its header) and the password-like
  fields of a JSON one;
- the test-only secrets of the Molecule scenarios (variables named like a password, secret or munge key in
  roles/*/molecule/*/molecule.yml), also base64-decoded.
Findings name the file, the line and the kind of secret, never the secret itself. A scan with no file or no
secret value to look for fails too: it would prove nothing.
"""

import base64
import binascii
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PRIVATE_KEY_HEADER = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
SECRET_NAME = re.compile(r"password|passwd|secret|munge_key|private_key|token", re.IGNORECASE)
MIN_LENGTH = 12  # shorter values (and key lines) would match ordinary text


def _secret_lines(value):
    """The value and its lines long enough to be telling (PEM armour lines excluded: the header check has them)."""
    yield value
    if "\n" in value:
        for line in value.splitlines():
            line = line.strip()
            if len(line) >= MIN_LENGTH and not line.startswith("-----"):
                yield line


def _secret_fields(value):
    """The password-like string fields of a JSON secret (a database secret holds host and user names too)."""
    try:
        document = json.loads(value)
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    return [v for k, v in document.items() if isinstance(v, str) and SECRET_NAME.search(k)]


def _decoded(value):
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if text.isprintable() else None


def stored_secrets(outputs):
    """{value: where it comes from} of the secret values the emulators stored."""
    found = {}
    for path in sorted(outputs.glob("stored-secrets-*.json")):
        for value in json.loads(path.read_text(encoding="utf-8")):
            for part in [value, *_secret_fields(value)]:
                for line in _secret_lines(part):
                    found.setdefault(line, f"a secret stored in the emulator ({path.name})")
    return found


def molecule_secrets(roles):
    """{value: where} of the Molecule scenarios' test-only secrets (and their base64-decoded form)."""
    found = {}

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and SECRET_NAME.search(str(key)) and "{{" not in value:
                    found.setdefault(value, f"{key} of {where}")
                    decoded = _decoded(value)
                    if decoded:
                        found.setdefault(decoded, f"{key} of {where}, decoded")
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path in sorted(roles.glob("*/molecule/*/molecule.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.relative_to(roles.parent))
    return found


def scan(outputs, secrets):
    """(findings "file:line: kind", files scanned) under ``outputs``, the stored-secrets files themselves excluded."""
    import ahocorasick  # pylint: disable=import-outside-toplevel  # thousands of values in one pass over each file

    automaton = ahocorasick.Automaton()
    for value, where in secrets.items():
        if len(value) >= MIN_LENGTH:
            automaton.add_word(value, where)
    automaton.add_word("PRIVATE KEY-----", None)  # the end of any PEM or OpenSSH key block's armour
    automaton.make_automaton()
    findings, files = [], 0
    for path in sorted(p for p in outputs.rglob("*") if p.is_file() and not p.name.startswith("stored-secrets-")):
        files += 1
        raw = path.read_bytes().decode("utf-8", "replace")
        # JSON output escapes newlines and slashes: a key's body lines are only whole in the unescaped text.
        unescaped = raw.replace("\\n", "\n").replace("\\/", "/")
        for variant, text in [("", raw)] + ([(" (JSON-unescaped)", unescaped)] if unescaped != raw else []):
            for end, where in automaton.iter(text):
                if where is None and not PRIVATE_KEY_HEADER.search(text[max(0, end - 60):end + 1]):
                    continue
                line = text.count("\n", 0, end) + 1
                findings.append(f"{path}:{line}{variant}: {where or 'a private key block'}")
    return sorted(set(findings)), files


def main(argv):
    outputs = Path(argv[1]) if len(argv) > 1 else REPO / ".build" / "test-outputs"
    if not outputs.is_dir():
        print(f"scan_secrets: no outputs to scan: {outputs} does not exist", file=sys.stderr)
        return 1
    secrets = {**molecule_secrets(REPO / "roles"), **stored_secrets(outputs)}
    findings, files = scan(outputs, secrets)
    print(f"scan_secrets: {files} files under {outputs}, {len(secrets)} secret values and the private key headers "
          f"looked for: {len(findings)} findings")
    for finding in findings[:200]:
        print(f"  {finding}")
    if not files or not secrets:
        print("scan_secrets: nothing to scan or nothing to look for: the scan would prove nothing", file=sys.stderr)
        return 1
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
