"""Unit tests of module_utils/slurm_rest_api.py: job shapes per OpenAPI version, normalization of slurmrestd's answers
(v0.0.38 of Slurm 22.05, v0.0.40 of 23.11, as Slurm's OpenAPI descriptions give them), error mapping, and the
transport against a small fake slurmrestd on 127.0.0.1 (headers, version discovery, no token in any message)."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_rest_api as s

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdW4iOiJzaW0ifQ.c2lnbmF0dXJlLW9mLXRoZS10ZXN0"  # shaped like a JWS, signs nothing
WORK = "/obi/data/scratch/proj01/run1"
JOB = {"name": "sim-run", "account": "proj01", "partition": "queue1", "nodes": 2, "tasks": 4, "time_limit": 90,
       "current_working_directory": WORK, "standard_output": f"{WORK}/slurm-%j.out",
       "standard_error": f"{WORK}/slurm-%j.err", "environment": {"OMP_NUM_THREADS": 2, "PATH": "/usr/bin:/bin"}}
SCRIPT = "#!/bin/bash\nsrun hostname\n"


def nv(number, is_set=True, infinite=False):
    return {"set": is_set, "infinite": infinite, "number": number}


def meta(version):
    if version == "v0.0.38":
        return {"plugin": {"type": "openapi/v0.0.38", "name": "Slurm OpenAPI v0.0.38"},
                "Slurm": {"version": {"major": 22, "micro": 8, "minor": 5}, "release": "22.05.8"}}
    return {"plugin": {"type": "openapi/slurmctld", "name": "Slurm OpenAPI slurmctld",
                       "data_parser": f"data_parser/{version}", "accounting_storage": "accounting_storage/slurmdbd"},
            "client": {"source": "[10.0.8.4]:46386", "user": "sim", "group": "sim"}, "command": [],
            "slurm": {"version": {"major": "23", "micro": "4", "minor": "11"}, "release": "23.11.4",
                      "cluster": "pcluster-vlab01-proj01"}}


# GET /slurm/v0.0.38/job/{id} (v0.0.38_job_response_properties): job_state a string, exit_code the wait status.
CTLD_38 = {"meta": meta("v0.0.38"), "errors": [], "jobs": [{
    "account": "proj01", "accrue_time": 1700000000, "batch_flag": True, "batch_host": "queue1-st-c5-1",
    "cluster": "pcluster-vlab01-proj01", "current_working_directory": WORK, "derived_exit_code": 0,
    "end_time": 1700000130, "exit_code": 256, "group_id": 1001, "job_id": 42, "job_state": "FAILED",
    "name": "sim-run", "nodes": "queue1-st-c5-[1-2]", "partition": "queue1", "standard_error": f"{WORK}/slurm-%j.err",
    "standard_input": "/dev/null", "standard_output": f"{WORK}/slurm-%j.out", "start_time": 1700000100,
    "state_reason": "NonZeroExitCode", "submit_time": 1700000000, "tasks": 4, "time_limit": 90, "user_id": 1001,
    "user_name": "sim"}]}

# GET /slurm/v0.0.40/job/{id} (data_parser v0.0.40 JOB_INFO): lists of states, {set, infinite, number} numbers.
CTLD_40 = {"jobs": [{
    "account": "proj01", "accrue_time": nv(1700000000), "batch_flag": True, "batch_host": "queue1-st-c5-1",
    "cluster": "pcluster-vlab01-proj01", "current_working_directory": WORK,
    "derived_exit_code": {"status": ["SUCCESS"], "return_code": nv(0), "signal": {"id": nv(0, False), "name": ""}},
    "end_time": nv(1700000130),
    "exit_code": {"status": ["SUCCESS"], "return_code": nv(0), "signal": {"id": nv(0, False), "name": ""}},
    "job_id": 43, "job_state": ["COMPLETED"], "name": "sim-run", "nodes": "queue1-st-c5-1", "partition": "queue1",
    "standard_error": f"{WORK}/slurm-43.err", "standard_input": "/dev/null", "standard_output": f"{WORK}/slurm-43.out",
    "start_time": nv(1700000100), "state_reason": "None", "submit_time": nv(1700000000), "tasks": nv(1),
    "time_limit": nv(90), "user_name": "sim"}],
    "last_backfill": nv(1700000000), "last_update": nv(1700000140), "meta": meta("v0.0.40"), "errors": [],
    "warnings": []}

# GET /slurmdb/v0.0.38/job/{id} (dbv0.0.38_job): state.current, time.start/end, working_directory.
DB_38 = {"meta": meta("v0.0.38"), "errors": [], "jobs": [{
    "account": "proj01", "association": {"account": "proj01", "cluster": "pcluster-vlab01-proj01", "user": "sim"},
    "cluster": "pcluster-vlab01-proj01", "derived_exit_code": {"status": "SUCCESS", "return_code": 0},
    "exit_code": {"status": "SIGNALED", "return_code": 0, "signal": {"signal_id": 9, "name": "KILL"}},
    "job_id": 44, "name": "sim-run", "nodes": "queue1-st-c5-1", "partition": "queue1",
    "state": {"current": "CANCELLED", "reason": "None"},
    "time": {"elapsed": 30, "eligible": 1700000000, "end": 1700000130, "start": 1700000100,
             "submission": 1700000000, "suspended": 0, "limit": 90},
    "user": "sim", "working_directory": WORK}]}

# GET /slurmdb/v0.0.40/job/{id} (data_parser v0.0.40 JOB): state.current a list, exit_code as slurmctld's.
DB_40 = {"jobs": [{
    "account": "proj01", "association": {"account": "proj01", "cluster": "pcluster-vlab01-proj01", "user": "sim",
                                         "id": 18},
    "cluster": "pcluster-vlab01-proj01",
    "exit_code": {"status": ["ERROR"], "return_code": nv(3), "signal": {"id": nv(0, False), "name": ""}},
    "job_id": 45, "name": "sim-run", "nodes": "queue1-st-c5-1", "partition": "queue1",
    "state": {"current": ["FAILED"], "reason": "None"},
    "time": {"elapsed": 1, "eligible": 1700000000, "end": 1700000143, "start": 1700000142, "submission": 1700000000,
             "suspended": 0, "limit": nv(90)},
    "user": "sim", "working_directory": WORK}],
    "meta": meta("v0.0.40"), "errors": [], "warnings": []}

UNKNOWN_40 = {"jobs": [], "meta": meta("v0.0.40"), "warnings": [], "errors": [
    {"description": "Unable to query JobId=77", "error_number": 2017, "error": "Invalid job id specified",
     "source": "_handle_job_get"}]}
UNKNOWN_DB_40 = {"jobs": [], "meta": meta("v0.0.40"), "errors": [], "warnings": [
    {"description": "slurmdb_jobs_get(0x7f4400007170) found nothing", "source": "_dump_jobs"}]}

PARTITIONS_38 = {"meta": meta("v0.0.38"), "errors": [], "partitions": [
    {"flags": ["default"], "name": "queue1", "nodes": "queue1-st-c5-[1-2],queue1-dy-c5-[1-8]", "state": "UP",
     "total_cpus": 40, "total_nodes": 10}]}
PARTITIONS_40 = {"partitions": [
    {"nodes": {"allowed_allocation": "", "configured": "queue1-st-c5-[1-2]", "total": 2}, "name": "queue1",
     "cpus": {"task_binding": 0, "total": 8}, "partition": {"state": ["UP"]}},
    {"nodes": {"allowed_allocation": "", "configured": "", "total": 0}, "name": "spare",
     "partition": {"state": ["INACTIVE"]}}],
    "last_update": nv(1700000140), "meta": meta("v0.0.40"), "errors": [], "warnings": []}
NODES_38 = {"meta": meta("v0.0.38"), "errors": [], "nodes": [
    {"name": "queue1-st-c5-1", "state": "idle", "state_flags": [], "partitions": ["queue1"], "cpus": 4},
    {"name": "queue1-st-c5-2", "state": "mixed", "state_flags": ["DRAIN"], "partitions": ["queue1"], "cpus": 4}]}
NODES_40 = {"nodes": [
    {"name": "queue1-st-c5-1", "state": ["IDLE"], "partitions": ["queue1"], "cpus": 4},
    {"name": "queue1-st-c5-2", "state": ["DOWN", "NOT_RESPONDING"], "partitions": ["queue1"], "cpus": 4}],
    "last_update": nv(1700000140), "meta": meta("v0.0.40"), "errors": [], "warnings": []}


def openapi(*versions):
    paths = {"/openapi/v3": {}, "/openapi.json": {}}
    for version in versions:
        paths.update({f"/slurm/{version}/ping/": {}, f"/slurm/{version}/job/{{job_id}}": {},
                      f"/slurmdb/{version}/job/{{job_id}}": {}})
    return {"openapi": "3.0.3", "info": {"title": "Slurm REST API"}, "paths": paths}


# ---- the fake slurmrestd -------------------------------------------------------------------------------------------

class FakeSlurmrestd:
    """Answers (method, path) from ``routes`` ({(method, path): (status, body)}; a str body goes out as text/plain,
    anything else as JSON; 404 text otherwise, as slurmrestd does) and keeps every request it gets."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # http.server's signature
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                # header names in lower case: HTTP, slurmrestd and the gate compare them so (urllib sends X-slurm-...)
                fake.requests.append({"method": self.command, "path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": json.loads(raw) if raw else None})
                status, body = fake.routes.get((self.command, self.path), (404, "Unable find requested URL."))
                text = body if isinstance(body, str) else json.dumps(body)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def route(self, method, path, status, body):
        self.routes[(method, path)] = (status, body)


@pytest.fixture
def fake(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = FakeSlurmrestd()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def client(fake, version="v0.0.40", **options):
    return s.SlurmRest(fake.url + "/", TOKEN, version=version, timeout=5, **options)


def assert_no_token(error):
    assert TOKEN not in str(error) and TOKEN not in repr(error.errors)


# ---- checks of the inputs -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["", None, "10.0.0.5:6820", "ftp://10.0.0.5", "http://sim:pw@10.0.0.5:6820",
                                 "http://10.0.0.5:6820/?x=1", "http://10.0.0.5:6820#a", "http://10.0.0.5:99999"])
def test_urls_refused(url):
    with pytest.raises(s.SlurmRestError) as error:
        s.check_url(url)
    assert error.value.field == "rest_url" and str(error.value).startswith("rest_url: ")


def test_url_accepted_without_trailing_slash():
    assert s.check_url(" https://head.example.org:6820/ ") == "https://head.example.org:6820"


@pytest.mark.parametrize("token", ["", None, "  ", "abc def", "abc\r\nX-Evil: 1"])
def test_tokens_refused_without_quoting_them(token):
    with pytest.raises(s.SlurmRestError) as error:
        s.check_token(token)
    assert error.value.field == "rest_token"
    assert not (token or "").strip() or token.strip() not in str(error.value)


@pytest.mark.parametrize("version", ["v0.0.37", "v0.0.42", "0.0.40", "latest"])
def test_versions_refused(version):
    with pytest.raises(s.SlurmRestError, match="^rest_api_version: .*auto or one of v0.0.41, v0.0.40"):
        s.check_version(version)


@pytest.mark.parametrize("job_id", [0, -3, True, 1.5, "12a", None])
def test_job_ids_refused(job_id):
    with pytest.raises(s.SlurmRestError, match="^job_id: "):
        s.check_job_id(job_id)


def test_job_id_from_its_string():
    assert s.check_job_id(" 42 ") == 42


def test_headers_token_only_in_x_slurm_user_token():
    assert s.build_headers(TOKEN) == {"Accept": "application/json", "X-SLURM-USER-TOKEN": TOKEN}
    assert s.build_headers(TOKEN, "sim", body=True) == {
        "Accept": "application/json", "X-SLURM-USER-TOKEN": TOKEN, "X-SLURM-USER-NAME": "sim",
        "Content-Type": "application/json"}


# ---- job submission per version ------------------------------------------------------------------------------------

def test_submit_body_v0_0_38():
    assert s.submit_body("v0.0.38", SCRIPT, JOB) == {"script": SCRIPT, "job": {
        "name": "sim-run", "account": "proj01", "partition": "queue1", "current_working_directory": WORK,
        "standard_output": f"{WORK}/slurm-%j.out", "standard_error": f"{WORK}/slurm-%j.err", "tasks": 4,
        "nodes": 2, "time_limit": 90, "environment": {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"}}}


@pytest.mark.parametrize("version", ["v0.0.39", "v0.0.40"])
def test_submit_body_v0_0_39_and_40(version):
    body = s.submit_body(version, SCRIPT, JOB)
    assert body["script"] == SCRIPT and "script" not in body["job"]
    job = body["job"]
    assert job["nodes"] == "2" and job["tasks"] == 4
    assert job["time_limit"] == {"set": True, "infinite": False, "number": 90}
    assert job["environment"] == ["PATH=/usr/bin:/bin", "OMP_NUM_THREADS=2"]
    assert job["account"] == "proj01" and job["current_working_directory"] == WORK


def test_submit_body_v0_0_41_script_in_the_job():
    body = s.submit_body("v0.0.41", SCRIPT, JOB)
    assert list(body) == ["job"] and body["job"]["script"] == SCRIPT
    assert body["job"]["time_limit"]["number"] == 90 and body["job"]["nodes"] == "2"


@pytest.mark.parametrize("version", s.SUPPORTED_VERSIONS)
def test_submit_body_minimal_job_gets_the_default_environment(version):
    job = s.submit_body(version, SCRIPT, {"account": "proj01", "time_limit": None, "environment": {}})["job"]
    assert job["account"] == "proj01" and "time_limit" not in job and "nodes" not in job
    path = s.DEFAULT_ENVIRONMENT["PATH"]
    assert job["environment"] == ({"PATH": path} if version == "v0.0.38" else [f"PATH={path}"])


@pytest.mark.parametrize("script, job, field", [
    ("", {}, "script"),
    (SCRIPT, {"ntasks": 2}, "job"),
    (SCRIPT, {"nodes": 0}, "nodes"),
    (SCRIPT, {"time_limit": "1:00:00"}, "time_limit"),
    (SCRIPT, {"tasks": True}, "tasks"),
    (SCRIPT, {"account": 5}, "account"),
    (SCRIPT, {"environment": {"BAD-NAME": "x"}}, "environment"),
    (SCRIPT, {"environment": ["A=1"]}, "environment"),
])
def test_submit_body_refusals_name_the_field(script, job, field):
    with pytest.raises(s.SlurmRestError) as error:
        s.submit_body("v0.0.40", script, job)
    assert error.value.field == field


def test_submit_body_needs_a_resolved_version():
    with pytest.raises(s.SlurmRestError, match="^rest_api_version: "):
        s.submit_body("auto", SCRIPT, JOB)


# ---- normalization ---------------------------------------------------------------------------------------------------

def test_normalize_v0_0_38_job_of_slurmctld():
    assert s.normalize_job(CTLD_38["jobs"][0]) == {
        "job_id": 42, "name": "sim-run", "state": "FAILED", "exit_code": "1:0",
        "start_time": "2023-11-14T22:15:00Z", "end_time": "2023-11-14T22:15:30Z", "nodes": "queue1-st-c5-[1-2]",
        "account": "proj01", "work_dir": WORK, "stdout": f"{WORK}/slurm-42.out", "stderr": f"{WORK}/slurm-42.err"}


def test_normalize_v0_0_40_job_of_slurmctld():
    assert s.normalize_job(CTLD_40["jobs"][0]) == {
        "job_id": 43, "name": "sim-run", "state": "COMPLETED", "exit_code": "0:0",
        "start_time": "2023-11-14T22:15:00Z", "end_time": "2023-11-14T22:15:30Z", "nodes": "queue1-st-c5-1",
        "account": "proj01", "work_dir": WORK, "stdout": f"{WORK}/slurm-43.out", "stderr": f"{WORK}/slurm-43.err"}


def test_normalize_v0_0_38_job_of_slurmdbd():
    job = s.normalize_job(DB_38["jobs"][0])
    assert job["state"] == "CANCELLED" and job["exit_code"] == "0:9"
    assert job["start_time"] == "2023-11-14T22:15:00Z" and job["end_time"] == "2023-11-14T22:15:30Z"
    # slurmdbd keeps no output paths: the contract's <work_dir>/slurm-<jobid>.out/.err
    assert (job["work_dir"], job["stdout"], job["stderr"]) == (WORK, f"{WORK}/slurm-44.out", f"{WORK}/slurm-44.err")


def test_normalize_v0_0_40_job_of_slurmdbd():
    job = s.normalize_job(DB_40["jobs"][0])
    assert (job["job_id"], job["state"], job["exit_code"], job["account"]) == (45, "FAILED", "3:0", "proj01")
    assert job["end_time"] == "2023-11-14T22:15:43Z"


def test_normalize_pending_and_running_jobs_have_no_times_yet():
    pending = copy.deepcopy(CTLD_40["jobs"][0])
    pending.update(job_state=["PENDING"], start_time=nv(1700009999), end_time=nv(1700019999), nodes="",
                   exit_code={"status": ["PENDING"], "return_code": nv(0, False), "signal": {"id": nv(0, False)}})
    job = s.normalize_job(pending)
    assert (job["state"], job["start_time"], job["end_time"], job["nodes"], job["exit_code"]) == \
        ("PENDING", None, None, None, "0:0")
    running = dict(CTLD_38["jobs"][0], job_state="RUNNING", exit_code=0, end_time=1700009999)
    job = s.normalize_job(running)
    assert (job["state"], job["start_time"], job["end_time"]) == ("RUNNING", "2023-11-14T22:15:00Z", None)


@pytest.mark.parametrize("value, text", [
    (0, "0:0"), (256, "1:0"), (3 << 8, "3:0"), (9, "0:9"), (15, "0:15"), (nv(512), "2:0"), (nv(0, False), "0:0"),
    (None, "0:0"),
    ({"status": ["SIGNALED"], "return_code": nv(0, False), "signal": {"id": nv(9), "name": "KILL"}}, "0:9"),
    ({"status": "ERROR", "return_code": 127}, "127:0"),
])
def test_exit_codes_as_sacct_prints_them(value, text):
    assert s.exit_code_text(value) == text


def test_relative_output_path_and_patterns():
    assert s.expand_output("out-%x-%j.log", 7, "a", "/w/", "out") == "/w/out-a-7.log"
    assert s.expand_output("/w/100%%-%J.txt", 7, "a", "/w", "out") == "/w/100%-7.txt"
    assert s.expand_output("", 7, "a", None, "err") is None


def test_normalize_partitions_and_nodes_v0_0_38():
    assert [s.normalize_partition(p) for p in PARTITIONS_38["partitions"]] == [
        {"name": "queue1", "state": "up", "nodes": 10, "node_list": "queue1-st-c5-[1-2],queue1-dy-c5-[1-8]"}]
    assert [s.normalize_node(n) for n in NODES_38["nodes"]] == [
        {"name": "queue1-st-c5-1", "state": "idle", "partitions": ["queue1"]},
        {"name": "queue1-st-c5-2", "state": "mixed+drain", "partitions": ["queue1"]}]


def test_normalize_partitions_and_nodes_v0_0_40():
    assert [s.normalize_partition(p) for p in PARTITIONS_40["partitions"]] == [
        {"name": "queue1", "state": "up", "nodes": 2, "node_list": "queue1-st-c5-[1-2]"},
        {"name": "spare", "state": "inactive", "nodes": 0, "node_list": ""}]
    assert [n["state"] for n in map(s.normalize_node, NODES_40["nodes"])] == ["idle", "down+not_responding"]


def test_error_texts():
    assert s.error_texts(UNKNOWN_40) == ["Invalid job id specified (Unable to query JobId=77)"]
    assert s.error_texts({"errors": [{"error": "token expired", "error_number": 401}]}) == ["token expired"]
    assert s.error_texts({"errors": [{"error_code": 2017}, "plain"]}) == ["error 2017", "plain"]
    assert s.error_texts({"errors": []}) == [] and s.error_texts("not json") == []


def test_versions_served_and_picked():
    assert s.versions_served(openapi("v0.0.39", "v0.0.40")) == ["v0.0.40", "v0.0.39"]
    assert s.pick_version(["v0.0.42", "v0.0.41", "v0.0.40"]) == "v0.0.41"
    assert s.pick_version(["v0.0.37"]) is None and s.versions_served({}) == []


# ---- the transport -------------------------------------------------------------------------------------------------

def test_headers_sent(fake):
    pings = {"pings": [{"hostname": "head", "pinged": "UP"}], "meta": meta("v0.0.40")}
    fake.route("GET", "/slurm/v0.0.40/ping/", 200, pings)
    assert client(fake).ping() == {"api_version": "v0.0.40", "slurm_release": "23.11.4",
                                   "pings": [{"hostname": "head", "pinged": "UP"}]}
    client(fake, user="sim").ping()
    first, second = (r["headers"] for r in fake.requests)
    assert first["x-slurm-user-token"] == TOKEN and "authorization" not in first and "x-slurm-user-name" not in first
    assert second["x-slurm-user-name"] == "sim" and second["x-slurm-user-token"] == TOKEN
    assert first["accept"] == "application/json" and "content-type" not in first


def test_ping_of_slurm_22_05(fake):
    fake.route("GET", "/slurm/v0.0.38/ping/", 200, {"pings": [], "meta": meta("v0.0.38"), "errors": []})
    assert client(fake, "v0.0.38").ping()["slurm_release"] == "22.05.8"


def test_version_discovered_once_from_openapi(fake):
    fake.route("GET", "/openapi/v3", 200, openapi("v0.0.39", "v0.0.40"))
    fake.route("GET", "/slurm/v0.0.40/ping/", 200, {"pings": [], "meta": meta("v0.0.40")})
    rest = client(fake, "auto")
    rest.ping()
    rest.ping()
    assert rest.version == "v0.0.40"
    assert [r["path"] for r in fake.requests] == ["/openapi/v3", "/slurm/v0.0.40/ping/", "/slurm/v0.0.40/ping/"]
    assert fake.requests[0]["headers"]["x-slurm-user-token"] == TOKEN


def test_version_discovery_falls_back_to_pings(fake):
    fake.route("GET", "/openapi/v3", 500, {"errors": [{"error": "Unable to dump OpenAPI"}]})
    fake.route("GET", "/slurm/v0.0.38/ping/", 200, {"pings": [], "meta": meta("v0.0.38")})
    assert client(fake, "auto").version == "v0.0.38"
    assert [r["path"] for r in fake.requests] == ["/openapi/v3"] + [f"/slurm/{v}/ping/" for v in s.SUPPORTED_VERSIONS]


def test_version_discovery_refused_token(fake):
    fake.route("GET", "/openapi/v3", 401, {"errors": [{"error": "token expired", "error_number": 401}]})
    with pytest.raises(s.SlurmRestError) as error:
        client(fake, "auto").version
    assert error.value.field == "rest_token" and error.value.status == 401
    assert "HTTP 401 from GET /openapi/v3: token expired" in str(error.value)
    assert_no_token(error.value)


def test_version_discovery_nothing_supported(fake):
    fake.route("GET", "/openapi/v3", 200, openapi("v0.0.42", "v0.0.43"))
    with pytest.raises(s.SlurmRestError, match="^rest_api_version: .* serves v0.0.43, v0.0.42, none of"):
        client(fake, "auto").version
    fake.routes.clear()
    with pytest.raises(s.SlurmRestError, match="^rest_api_version: .* answers none of .*HTTP 404"):
        client(fake, "auto").version


def test_explicit_version_asks_nothing(fake):
    assert client(fake, "v0.0.38").version == "v0.0.38" and fake.requests == []


@pytest.mark.parametrize("version", ["v0.0.38", "v0.0.40"])
def test_submit(fake, version):
    fake.route("POST", f"/slurm/{version}/job/submit", 200,
               {"job_id": 42, "step_id": "BATCH", "job_submit_user_msg": "", "errors": [], "meta": meta(version)})
    assert client(fake, version).submit(SCRIPT, JOB) == 42
    request = fake.requests[0]
    assert request["body"] == s.submit_body(version, SCRIPT, JOB)
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["x-slurm-user-token"] == TOKEN and "authorization" not in request["headers"]


def test_submit_refused_by_slurm(fake):
    fake.route("POST", "/slurm/v0.0.40/job/submit", 500, {"job_id": 0, "errors": [
        {"description": "Job submission failed", "error_number": 2045, "error": "Invalid account or "
         "account/partition combination specified", "source": "slurm_submit_batch_job()"}], "meta": meta("v0.0.40")})
    with pytest.raises(s.SlurmRestError) as error:
        client(fake).submit(SCRIPT, JOB)
    assert error.value.field is None and error.value.status == 500
    assert str(error.value) == ("HTTP 500 from POST /slurm/v0.0.40/job/submit: Invalid account or account/partition "
                                "combination specified (Job submission failed)")


def test_submit_without_job_id(fake):
    fake.route("POST", "/slurm/v0.0.40/job/submit", 200, {"errors": [{"error": "odd"}]})
    with pytest.raises(s.SlurmRestError, match="answered without a job id: odd"):
        client(fake).submit(SCRIPT, JOB)


def test_job_from_slurmctld(fake):
    fake.route("GET", "/slurm/v0.0.38/job/42", 200, CTLD_38)
    assert client(fake, "v0.0.38").job(42)["exit_code"] == "1:0"
    assert [r["path"] for r in fake.requests] == ["/slurm/v0.0.38/job/42"]


@pytest.mark.parametrize("version, ctld_status, ctld, db", [
    ("v0.0.40", 404, UNKNOWN_40, DB_40),
    ("v0.0.38", 500, {"errors": [{"error": "Invalid job id specified", "error_number": 2017}]}, DB_38),
])
def test_job_forgotten_by_slurmctld_comes_from_slurmdbd(fake, version, ctld_status, ctld, db):
    job_id = db["jobs"][0]["job_id"]
    fake.route("GET", f"/slurm/{version}/job/{job_id}", ctld_status, ctld)
    fake.route("GET", f"/slurmdb/{version}/job/{job_id}", 200, db)
    assert client(fake, version).job(job_id) == s.normalize_job(db["jobs"][0])


def test_job_unknown(fake):
    fake.route("GET", "/slurm/v0.0.40/job/77", 404, UNKNOWN_40)
    fake.route("GET", "/slurmdb/v0.0.40/job/77", 200, UNKNOWN_DB_40)
    with pytest.raises(s.SlurmRestError) as error:
        client(fake).job(77)
    assert error.value.field == "job_id"
    assert str(error.value) == ("job_id: job 77 is unknown to slurmctld and slurmdbd (slurm: HTTP 404 Invalid job id "
                                "specified (Unable to query JobId=77), slurmdb: HTTP 200, no such job)")


def test_job_with_a_refused_token(fake):
    refusal = {"errors": [{"error": "token names user 'alice', who may not use the REST API", "error_number": 403}]}
    fake.route("GET", "/slurm/v0.0.40/job/42", 403, refusal)
    with pytest.raises(s.SlurmRestError) as error:
        client(fake).job(42)
    assert error.value.field == "rest_token" and "alice" in str(error.value)
    assert len(fake.requests) == 1


def test_cancel(fake):
    fake.route("DELETE", "/slurm/v0.0.40/job/42", 200, {"warnings": [
        {"description": "Job was already sent signal Killed", "source": "_handle_job_delete"}], "errors": []})
    assert client(fake).cancel(42) == ["Job was already sent signal Killed"]
    assert fake.requests[0]["method"] == "DELETE"


def test_cancel_unknown_job(fake):
    fake.route("DELETE", "/slurm/v0.0.40/job/77", 404, {"errors": [
        {"error": "Invalid job id specified", "description": "unable to send signal Killed to JobId=77",
         "error_number": 2017}]})
    with pytest.raises(s.SlurmRestError, match=r"^job_id: HTTP 404 from DELETE /slurm/v0.0.40/job/77: Invalid job"):
        client(fake).cancel("77")


@pytest.mark.parametrize("version, partitions, nodes", [
    ("v0.0.38", PARTITIONS_38, NODES_38),
    ("v0.0.40", PARTITIONS_40, NODES_40),
])
def test_partitions_and_nodes(fake, version, partitions, nodes):
    fake.route("GET", f"/slurm/{version}/partitions/", 200, partitions)
    fake.route("GET", f"/slurm/{version}/nodes/", 200, nodes)
    rest = client(fake, version)
    assert rest.partitions()[0]["state"] == "up"
    assert [n["name"] for n in rest.nodes()] == ["queue1-st-c5-1", "queue1-st-c5-2"]


def test_text_answer_and_token_echo_are_scrubbed(fake):
    # slurmrestd answers some refusals as text/plain; a server that echoes the token must not get it into a message.
    fake.route("GET", "/slurm/v0.0.40/nodes/", 500, f"Authentication failure for token {TOKEN}")
    fake.route("GET", "/slurm/v0.0.40/partitions/", 500, {"errors": [{"error": f"bad token {TOKEN}"}]})
    for call in (client(fake).nodes, client(fake).partitions):
        with pytest.raises(s.SlurmRestError) as error:
            call()
        assert error.value.status == 500 and s.REDACTED in str(error.value)
        assert_no_token(error.value)


def test_nothing_listening():
    with pytest.raises(s.SlurmRestError) as error:
        s.SlurmRest("http://127.0.0.1:9", TOKEN, version="v0.0.40", timeout=2).ping()
    assert error.value.field == "rest_url" and "GET http://127.0.0.1:9/slurm/v0.0.40/ping/ failed" in str(error.value)
    assert_no_token(error.value)
