# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which OpenSSH public keys a cluster user may be given: parsed with ``cryptography``, not matched by a pattern.

Accepted: ssh-ed25519, ECDSA (nistp256, nistp384, nistp521) and RSA of at least 3072 bits (NIST SP 800-57's
128-bit security level, OpenSSH's own default since 9.x). Refused: shorter RSA, DSA, anything that does not parse.
"""

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
except ImportError:  # reported by the caller as a missing library
    serialization = None

RSA_MIN_BITS = 3072
ALLOWED = f"an OpenSSH public key line of type ssh-ed25519, ecdsa-sha2-nistp256/384/521, or ssh-rsa of at least {RSA_MIN_BITS} bits"


def public_key_error(line):
    """Why ``line`` is not an acceptable public key (naming what is allowed), or None when it is one."""
    if serialization is None:
        return "the Python library cryptography is needed to check public keys"
    text = line.strip() if isinstance(line, str) else ""
    if "\n" in text:
        return f"one line only; {ALLOWED}"
    try:
        key = serialization.load_ssh_public_key(text.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        return f"not a parseable public key; {ALLOWED}"
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < RSA_MIN_BITS:
        return f"an RSA key of {key.key_size} bits is too weak; {ALLOWED}"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA keys are refused; {ALLOWED}"
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
        return f"unsupported key type; {ALLOWED}"
    return None
