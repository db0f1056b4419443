# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The REST transport of the job modules: slurmrestd behind the role slurm_rest's gate (roles/slurm_rest).

The shapes differ per OpenAPI version (checked against Slurm's source, 22.05 to 24.05):

- v0.0.38 (Slurm 22.05): ``job.environment`` is a dict, ``nodes``/``time_limit`` plain numbers; a job of slurmctld
  has ``job_state`` as a string, ``exit_code`` as the raw wait status and times as UNIX seconds (0: unset).
- v0.0.39 (23.02): ``environment`` a list of ``K=V`` (required), ``time_limit`` a ``{set, infinite, number}``;
  ``exit_code`` still the raw wait status (in such an object), ``job_state`` a string.
- v0.0.40 (23.11): as v0.0.39, and ``job_state`` is a list (state, then flags), ``exit_code`` an object
  ``{status, return_code, signal}``, times ``{set, infinite, number}``.
- v0.0.41 (24.05): as v0.0.40, the script inside ``job`` (the top-level ``script`` is deprecated there).

The batch script is at the top of the body up to v0.0.40 (22.05 requires it there, the role's Molecule scenario
submits it so on 23.11). A job slurmdbd keeps (``/slurmdb/<v>/job/<id>``) has ``state.current``, ``time.start`` and
``working_directory`` instead. The normalization below reads every one of these shapes, so it needs no version.

Tokens: the gate accepts ``Authorization: Bearer`` or ``X-SLURM-USER-TOKEN`` but refuses both at once, and slurmrestd
of 22.05 knows no Bearer: the token goes in ``X-SLURM-USER-TOKEN`` only. ``X-SLURM-USER-NAME`` is sent only when a user
is given (the gate refuses one that differs from the token's). A token never appears in a message.
"""

import json
import re
from datetime import datetime, timezone
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

# Newest first: "auto" takes the first one the server serves.
SUPPORTED_VERSIONS = ("v0.0.41", "v0.0.40", "v0.0.39", "v0.0.38")
AUTO = "auto"
TOKEN_HEADER = "X-SLURM-USER-TOKEN"
USER_HEADER = "X-SLURM-USER-NAME"
REDACTED = "<token>"
# Slurm refuses a job without environment (22.05, 23.02); srun inside the script needs Slurm's bin directory on PATH
# (/opt/slurm/bin on ParallelCluster). The job's own environment overrides it.
DEFAULT_ENVIRONMENT = {"PATH": "/opt/slurm/bin:/usr/local/bin:/usr/bin:/bin"}
JOB_KEYS = ("name", "account", "partition", "nodes", "tasks", "time_limit", "current_working_directory",
            "standard_output", "standard_error", "environment")
STRING_KEYS = ("name", "account", "partition", "current_working_directory", "standard_output", "standard_error")
# States in which a job has not ended yet: its end time is Slurm's estimate, not reported (sacct says Unknown).
ACTIVE_STATES = frozenset(("PENDING", "RUNNING", "SUSPENDED", "CONFIGURING", "RESIZING", "REQUEUED", "REQUEUE_FED",
                           "REQUEUE_HOLD", "RESV_DEL_HOLD"))
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SERVED_VERSION = re.compile(r"^/slurm/(v0\.0\.[0-9]+)/")
MAX_TEXT = 500  # of a server's error text in a message


class SlurmRestError(Exception):
    """A refused input or a failed call. ``field`` names the option at fault (None for Slurm's own refusals),
    ``status`` is the HTTP status when there was an answer, ``errors`` Slurm's errors[] texts."""

    def __init__(self, field, message, status=None, errors=None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.status = status
        self.errors = list(errors or [])


# ---- checks of the inputs -------------------------------------------------------------------------------------------

def check_url(url):
    """``url`` (an http(s) URL of slurmrestd's gate, e.g. http://10.0.0.5:6820) without a trailing slash."""
    if not isinstance(url, str) or not url.strip():
        raise SlurmRestError("rest_url", "is required with transport rest: the URL of the cluster's Slurm REST API, "
                                         "e.g. http://10.0.0.5:6820 (describe's slurmRestUrl)")
    url = url.strip()
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or "@" in parts.netloc \
            or parts.query or parts.fragment:
        raise SlurmRestError("rest_url", f"'{url}' is not a valid URL: http(s)://host[:port] without user, query or "
                                         "fragment is needed")
    return url.rstrip("/")


def check_token(token):
    """The token as given; refused when missing or when it could break the header (never quoted in the message)."""
    if not isinstance(token, str) or not token.strip():
        raise SlurmRestError("rest_token", "is required with transport rest: a Keycloak access token of the user")
    if any(char.isspace() for char in token.strip()) or not token.isprintable():
        raise SlurmRestError("rest_token", "is not a token: it contains white space or control characters")
    return token.strip()


def check_version(version):
    """``auto`` or one of SUPPORTED_VERSIONS."""
    if version in (None, "", AUTO):
        return AUTO
    if version not in SUPPORTED_VERSIONS:
        raise SlurmRestError("rest_api_version", f"'{version}' is not supported: use auto or one of "
                                                 f"{', '.join(SUPPORTED_VERSIONS)}")
    return version


def check_job_id(job_id):
    """The job id as an int (a positive int, or its decimal string)."""
    if isinstance(job_id, str) and job_id.strip().isdigit():
        job_id = int(job_id.strip())
    if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id <= 0:
        raise SlurmRestError("job_id", f"'{job_id}' is not a job id: a positive integer is needed")
    return job_id


def build_headers(token, user=None, body=False):
    """The request headers slurmrestd's gate expects (see the module's docstring)."""
    headers = {"Accept": "application/json", TOKEN_HEADER: token}
    if user:
        headers[USER_HEADER] = user
    if body:
        headers["Content-Type"] = "application/json"
    return headers


# ---- job submission: version-neutral -> each version's shape ---------------------------------------------------------

def _check_job(job):
    """The version-neutral job dict, its values checked (field names as the job modules call them)."""
    if not isinstance(job, dict):
        raise SlurmRestError("job", "must be a dict")
    unknown = sorted(set(job) - set(JOB_KEYS))
    if unknown:
        raise SlurmRestError("job", f"unknown keys {', '.join(unknown)}; known: {', '.join(JOB_KEYS)}")
    for key in STRING_KEYS:
        if job.get(key) is not None and not isinstance(job[key], str):
            raise SlurmRestError(key, "must be a string")
    for key in ("nodes", "tasks", "time_limit"):
        value = job.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            unit = " (minutes)" if key == "time_limit" else ""
            raise SlurmRestError(key, f"'{value}' must be a positive integer{unit}")
    environment = job.get("environment") or {}
    if not isinstance(environment, dict) or not all(isinstance(k, str) and ENV_NAME.match(k) for k in environment):
        raise SlurmRestError("environment", "must be a dict of variable names ([A-Za-z_][A-Za-z0-9_]*) to values")
    return job


def job_environment(environment):
    """DEFAULT_ENVIRONMENT overridden by the job's, values as strings."""
    merged = dict(DEFAULT_ENVIRONMENT)
    merged.update({key: "" if value is None else str(value) for key, value in (environment or {}).items()})
    return merged


def no_val(number):
    """Slurm's ``{set, infinite, number}`` of v0.0.39 and later."""
    return {"set": True, "infinite": False, "number": number}


def submit_body(version, script, job):
    """The body of POST /slurm/<version>/job/submit for the version-neutral ``job`` (see the module's docstring)."""
    check_version(version)
    if version == AUTO:
        raise SlurmRestError("rest_api_version", "a version is needed to shape the job (auto is resolved first)")
    if not isinstance(script, str) or not script.strip():
        raise SlurmRestError("script", "is required: the text of the batch script")
    job = _check_job(job)
    legacy = version == "v0.0.38"
    shaped = {key: job[key] for key in STRING_KEYS if job.get(key) is not None}
    if job.get("tasks") is not None:
        shaped["tasks"] = job["tasks"]
    if job.get("nodes") is not None:
        # v0.0.38 parses a number (or [min, max]); later versions a string like sbatch's -N ("2" or "1-2").
        shaped["nodes"] = job["nodes"] if legacy else str(job["nodes"])
    if job.get("time_limit") is not None:
        shaped["time_limit"] = job["time_limit"] if legacy else no_val(job["time_limit"])
    environment = job_environment(job.get("environment"))
    shaped["environment"] = environment if legacy else [f"{key}={value}" for key, value in environment.items()]
    if version == "v0.0.41":
        shaped["script"] = script
        return {"job": shaped}
    return {"script": script, "job": shaped}


# ---- normalization of the answers ----------------------------------------------------------------------------------

def number(value):
    """An int from a plain number or a ``{set, infinite, number}``; None when unset or infinite."""
    if isinstance(value, dict):
        if not value.get("set", True) or value.get("infinite"):
            return None
        value = value.get("number")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def iso_time(value):
    """ISO 8601 UTC of a UNIX time (plain or ``{set, number}``), None for 0 or unset."""
    seconds = number(value)
    if not seconds or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def state_name(value):
    """A job's state as Slurm prints it (COMPLETED, ...): a string, the first of a list (the base state comes first,
    then flags), or slurmdbd's ``{current: ...}``."""
    if isinstance(value, dict):
        value = value.get("current")
    if isinstance(value, list):
        value = value[0] if value else None
    return value.upper() if isinstance(value, str) and value else "UNKNOWN"


def exit_code_text(value):
    """``"N:M"`` as sacct prints it (exit status : signal). v0.0.38/v0.0.39 give the raw wait status, later versions
    and slurmdbd ``{status, return_code, signal: {id | signal_id}}``."""
    if isinstance(value, dict) and ("return_code" in value or "signal" in value or "status" in value):
        signal = value.get("signal") or {}
        signal_id = signal.get("id", signal.get("signal_id")) if isinstance(signal, dict) else None
        return f"{number(value.get('return_code')) or 0}:{number(signal_id) or 0}"
    raw = number(value) or 0
    signal_id = raw & 0x7F
    if signal_id and signal_id != 0x7F:  # WIFSIGNALED
        return f"0:{signal_id}"
    return f"{(raw >> 8) & 0xFF}:0"


def expand_output(pattern, job_id, name, work_dir, default_suffix):
    """The path of a job's stdout/stderr: Slurm's %j/%J/%x/%% expanded, relative to work_dir; when not given, the
    contract's <work_dir>/slurm-<jobid>.<suffix>."""
    if not pattern:
        return f"{work_dir.rstrip('/')}/slurm-{job_id}.{default_suffix}" if work_dir else None
    replacements = {"j": str(job_id), "J": str(job_id), "x": name or "", "%": "%"}
    path = re.sub(r"%([jJx%])", lambda match: replacements[match.group(1)], pattern)
    if not path.startswith("/") and work_dir:
        path = f"{work_dir.rstrip('/')}/{path}"
    return path


def _get(value, key):
    """``value[key]`` when value is a dict."""
    return value.get(key) if isinstance(value, dict) else None


def normalize_job(record):
    """The job dict the modules return, from a job of slurmctld (``job_state``) or of slurmdbd (``state``)."""
    job_id = number(record.get("job_id"))
    name = record.get("name") or ""
    state = state_name(record.get("job_state", record.get("state")))
    times = record.get("time") if isinstance(record.get("time"), dict) else {}
    start = record.get("start_time", times.get("start"))
    end = record.get("end_time", times.get("end"))
    work_dir = record.get("current_working_directory") or record.get("working_directory") or None
    stdout = record.get("standard_output") or record.get("stdout_expanded") or record.get("stdout")
    stderr = record.get("standard_error") or record.get("stderr_expanded") or record.get("stderr")
    return {
        "job_id": job_id,
        "name": name,
        "state": state,
        "exit_code": exit_code_text(record.get("exit_code")),
        "start_time": None if state == "PENDING" else iso_time(start),
        "end_time": None if state in ACTIVE_STATES else iso_time(end),
        "nodes": record.get("nodes") or None,
        "account": record.get("account") or _get(record.get("association"), "account") or None,
        "work_dir": work_dir,
        "stdout": expand_output(stdout, job_id, name, work_dir, "out"),
        "stderr": expand_output(stderr, job_id, name, work_dir, "err"),
    }


def pick_job(document, job_id):
    """The record of ``job_id`` in a ``{jobs: [...]}`` answer (or the first one), None when there is none."""
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, list) or not jobs:
        return None
    return next((job for job in jobs if isinstance(job, dict) and number(job.get("job_id")) == job_id), jobs[0])


def node_state(value, flags=None):
    """A node's or partition's state in sinfo's lower case, flags joined with '+': "idle", "mixed+drain". v0.0.38 gives
    a string and ``state_flags``, later versions a list (state first)."""
    words = list(value) if isinstance(value, list) else [value] if isinstance(value, str) and value else []
    words += [flag for flag in (flags or []) if isinstance(flag, str)]
    return "+".join(word.lower() for word in words) or "unknown"


def normalize_partition(record):
    """{name, state, nodes (count), node_list} of a partition (v0.0.38: nodes/total_nodes/state; later:
    nodes.{configured, total}, partition.state)."""
    nodes = record.get("nodes")
    if isinstance(nodes, dict):
        node_list, total = nodes.get("configured"), nodes.get("total")
    else:
        node_list, total = nodes, record.get("total_nodes")
    state = _get(record.get("partition"), "state") if isinstance(record.get("partition"), dict) \
        else record.get("state")
    return {"name": record.get("name"), "state": node_state(state), "nodes": number(total) or 0,
            "node_list": node_list or ""}


def normalize_node(record):
    """{name, state, partitions} of a node."""
    return {"name": record.get("name"), "state": node_state(record.get("state"), record.get("state_flags")),
            "partitions": [p for p in record.get("partitions") or [] if isinstance(p, str)]}


def error_texts(document):
    """Slurm's errors[] as texts ("error (description)"), also the gate's refusals (same shape)."""
    errors = document.get("errors") if isinstance(document, dict) else None
    texts = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, str):
            texts.append(error)
        elif isinstance(error, dict):
            main, detail = error.get("error") or "", error.get("description") or ""
            number = error.get("error_number", error.get("error_code", "?"))
            text = main or detail or f"error {number}"
            texts.append(f"{main} ({detail})" if main and detail and detail != main else text)
    return texts


def versions_served(openapi):
    """The /slurm/<version>/ API versions an OpenAPI document (GET /openapi/v3) lists."""
    paths = openapi.get("paths") if isinstance(openapi, dict) else None
    found = {match.group(1) for match in map(SERVED_VERSION.match, paths or {}) if match}
    return sorted(found, key=lambda v: int(v.rsplit(".", 1)[1]), reverse=True)


def pick_version(served):
    """The newest supported version among ``served``, or None."""
    return next((version for version in SUPPORTED_VERSIONS if version in served), None)


# ---- the transport ---------------------------------------------------------------------------------------------------

class SlurmRest:
    """Calls to one cluster's Slurm REST API with one user's token (see the module's docstring)."""

    def __init__(self, url, token, version=AUTO, timeout=30, user=None, validate_certs=True):
        self.url = check_url(url)
        self._token = check_token(token)
        self._version = None if check_version(version) == AUTO else version
        self.timeout = timeout
        self.user = user
        self.validate_certs = validate_certs

    # -- HTTP --

    def _scrub(self, text):
        """``text`` without the token, shortened."""
        text = str(text).replace(self._token, REDACTED)
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."

    def exchange(self, method, path, body=None):
        """(status, JSON document or {}, raw text) of one request; SlurmRestError(rest_url) when there is no answer."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        try:
            response = open_url(self.url + path, data=data, method=method, timeout=self.timeout,
                                headers=build_headers(self._token, self.user, body is not None),
                                validate_certs=self.validate_certs, follow_redirects="none", use_netrc=False)
            status, raw = response.getcode(), response.read()
        except HTTPError as error:  # an answer all the same: 4xx/5xx (and redirects, not followed with a token)
            status, raw = error.code, error.read() if error.fp else b""
        except (URLError, UrlsConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SlurmRestError("rest_url", self._scrub(f"{method} {self.url}{path} failed: {reason}")) from None
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        try:
            document = json.loads(text) if text.strip() else {}
        except ValueError:
            document = {}
        return status, document if isinstance(document, dict) else {}, text

    def _failure(self, method, path, status, document, text, field=None):
        """The SlurmRestError of an answer that is not a success: 401/403 blame the token."""
        texts = [self._scrub(t) for t in error_texts(document)] or ([self._scrub(text.strip())] if text.strip() else [])
        if status in (401, 403):
            field = "rest_token"
        detail = "; ".join(texts) or "no error text"
        hint = " (the token was refused: expired, another realm or client, or a user not allowed)" \
            if field == "rest_token" else ""
        return SlurmRestError(field, f"HTTP {status} from {method} {path}: {detail}{hint}", status=status,
                              errors=texts)

    def call(self, method, path, body=None, field=None):
        """The JSON answer of a request that must succeed (HTTP 200)."""
        status, document, text = self.exchange(method, path, body)
        if status != 200:
            raise self._failure(method, path, status, document, text, field)
        return document

    # -- version --

    @property
    def version(self):
        """The API version in use: the one given, or the newest supported one the server serves (asked once)."""
        if self._version is None:
            self._version = self._discover()
        return self._version

    def _discover(self):
        """Read /openapi/v3 (every slurmrestd serves it); when it does not answer, ping each version, newest first."""
        status, document, text = self.exchange("GET", "/openapi/v3")
        if status in (401, 403):
            raise self._failure("GET", "/openapi/v3", status, document, text)
        served = versions_served(document) if status == 200 else []
        if served:
            version = pick_version(served)
            if version is None:
                raise SlurmRestError("rest_api_version", f"{self.url} serves {', '.join(served)}, none of the "
                                                         f"supported {', '.join(SUPPORTED_VERSIONS)}")
            return version
        last = f"GET /openapi/v3: HTTP {status}"
        for version in SUPPORTED_VERSIONS:
            path = f"/slurm/{version}/ping/"
            status, document, text = self.exchange("GET", path)
            if status == 200:
                return version
            failure = self._failure("GET", path, status, document, text)
            if status in (401, 403):
                raise failure
            last = str(failure)
        raise SlurmRestError("rest_api_version", f"{self.url} answers none of {', '.join(SUPPORTED_VERSIONS)} "
                                                 f"(last: {last}); give rest_api_version", errors=[last])

    def _path(self, tail, plugin="slurm"):
        return f"/{plugin}/{self.version}/{tail}"

    # -- operations --

    def ping(self):
        """{api_version, slurm_release, pings}: slurmctld's answer to /ping."""
        document = self.call("GET", self._path("ping/"))
        meta = document.get("meta") or {}
        slurm = meta.get("slurm") or meta.get("Slurm") or {}  # 22.05 writes "Slurm"
        return {"api_version": self.version, "slurm_release": slurm.get("release"),
                "pings": document.get("pings") or []}

    def submit(self, script, job):
        """Submit a batch job (``job``: the version-neutral dict of submit_body); its job id."""
        path = self._path("job/submit")
        document = self.call("POST", path, submit_body(self.version, script, job))
        job_id = number(document.get("job_id"))
        if not job_id:
            raise SlurmRestError(None, f"POST {path} answered without a job id: "
                                       f"{'; '.join(self._scrub(t) for t in error_texts(document)) or 'no error text'}")
        return job_id

    def job(self, job_id):
        """The normalized job (normalize_job): from slurmctld, else from slurmdbd once slurmctld forgot it."""
        job_id = check_job_id(job_id)
        reasons = []
        for plugin in ("slurm", "slurmdb"):
            path = self._path(f"job/{job_id}", plugin)
            status, document, text = self.exchange("GET", path)
            record = pick_job(document, job_id) if status == 200 else None
            if record is not None:
                return normalize_job(record)
            if status in (401, 403):
                raise self._failure("GET", path, status, document, text)
            texts = [self._scrub(t) for t in error_texts(document)]
            reasons.append(f"{plugin}: HTTP {status}" + (f" {'; '.join(texts)}" if texts else ", no such job"))
        raise SlurmRestError("job_id", f"job {job_id} is unknown to slurmctld and slurmdbd ({', '.join(reasons)})",
                             status=status, errors=reasons)

    def cancel(self, job_id):
        """Cancel a job (DELETE, SIGKILL to the whole job); Slurm's warnings (e.g. already signalled)."""
        job_id = check_job_id(job_id)
        document = self.call("DELETE", self._path(f"job/{job_id}"), field="job_id")
        return [self._scrub(w.get("description", w) if isinstance(w, dict) else w)
                for w in document.get("warnings") or []]

    def partitions(self):
        """[{name, state, nodes, node_list}] of every partition."""
        document = self.call("GET", self._path("partitions/"))
        return [normalize_partition(p) for p in document.get("partitions") or [] if isinstance(p, dict)]

    def nodes(self):
        """[{name, state, partitions}] of every node."""
        document = self.call("GET", self._path("nodes/"))
        return [normalize_node(n) for n in document.get("nodes") or [] if isinstance(n, dict)]
