"""Issue a token from the test OpenID provider (oidc-provider-mock): authorization code flow for one user.

    python oidc_token.py ISSUER SUBJECT SECRETS_FILE

Prints the ID token (RS256, iss, aud, azp, preferred_username, sun, exp) and adds it to SECRETS_FILE, a JSON list of
values that scripts/scan_secrets.py then looks for in every test output. Loopback only.
"""

import fcntl
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

CLIENT = "workflow-service"
REDIRECT = "http://127.0.0.1/callback"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def issue(issuer, subject):
    if not issuer.startswith("http://127.0.0.1:"):
        raise SystemExit("oidc_token.py: loopback providers only")
    query = urllib.parse.urlencode({"client_id": CLIENT, "redirect_uri": REDIRECT, "response_type": "code",
                                    "scope": "openid profile", "state": "molecule"})
    request = urllib.request.Request(f"{issuer}/oauth2/authorize?{query}", method="POST",
                                     data=urllib.parse.urlencode({"sub": subject}).encode())
    location = ""
    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location", "")
    if not location:
        raise SystemExit("oidc_token.py: the provider did not redirect")
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    data = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                   "client_id": CLIENT, "client_secret": "molecule"}).encode()
    with urllib.request.urlopen(f"{issuer}/oauth2/token", data=data, timeout=10) as response:
        return json.load(response)["id_token"]


def register(path, token):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        values = json.loads(text) if text.strip() else []
        values.append(token)
        handle.seek(0)
        handle.truncate()
        json.dump(values, handle)
    os.chmod(path, 0o600)


def main(argv):
    issuer, subject, secrets_file = argv[1:4]
    token = issue(issuer, subject)
    register(secrets_file, token)
    print(token)


if __name__ == "__main__":
    main(sys.argv)
