"""The shipped least-privilege policy (meta/iam/*.json) is enough for every lifecycle flow, proven on an emulator that
enforces IAM (``python -m emulator --enforce-iam``): the playbooks run as an IAM user that has only those policies.

A separate emulator, not the session's: enforcement is for the whole process, and every request must then be signed
by a known IAM user. What the emulator checks, and what it cannot, is described in emulator/iam_enforcement.py.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # the test names say what they check; fixtures

import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, REPO_ROOT, Emulator, PlaybookRun, keep_output, running_emulator
from emulator.seed import seed
from lifecycle_helpers import clusters, inventory, lifecycle, orphans, site_settings

POLICY_DIR = REPO_ROOT / "meta" / "iam"
MANAGED_POLICY_MAX = 6144  # characters, whitespace not counted
FREE_REQUESTS = 3  # CreateUser, PutUserPolicy, CreateAccessKey of the administrator
# One read of each service the flows call, to see that the emulator checks it.
PROBES = {
    "cloudformation": ("describe_stacks", {}), "dynamodb": ("list_tables", {}), "ec2": ("describe_key_pairs", {}),
    "efs": ("describe_file_systems", {}), "fsx": ("describe_file_systems", {}), "iam": ("list_roles", {}),
    "logs": ("describe_log_groups", {}), "rds": ("describe_db_instances", {}), "s3": ("list_buckets", {}),
    "secretsmanager": ("list_secrets", {}), "ssm": ("describe_parameters", {}),
    "cloudwatch": ("list_dashboards", {}), "lambda": ("list_functions", {}),
}


class Identity(Emulator):
    """The enforcing emulator, reached with one IAM user's access key."""

    def __init__(self, endpoint, key, secret):
        super().__init__(endpoint)
        self.key, self.secret = key, secret

    def client(self, service, **kwargs):
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint, aws_access_key_id=self.key,
                            aws_secret_access_key=self.secret, **kwargs)


def policies():
    """The shipped policy documents: file name -> document."""
    return {path.name: json.loads(path.read_text()) for path in sorted(POLICY_DIR.glob("*.json"))}


@pytest.fixture(scope="module")
def admin():
    with running_emulator("--enforce-iam", str(FREE_REQUESTS)) as endpoint:
        iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        yield Identity(endpoint, key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="module")
def zone(admin):
    with pytest.MonkeyPatch.context() as patch:  # the seed takes the caller's credentials from the environment
        patch.setenv("AWS_ACCESS_KEY_ID", admin.key)
        patch.setenv("AWS_SECRET_ACCESS_KEY", admin.secret)
        return seed(admin.endpoint, prefix="iam", subnet_count=3)


@pytest.fixture(scope="module")
def site(zone):
    # CloudWatch logs on: the policy covers pcluster's log groups (each cluster name is used once here).
    return dict(site_settings(zone), hpc_logs_enabled=True)


def make_user(admin, name, documents):
    """An IAM user whose only permissions are these policy documents (customer managed, as on AWS)."""
    iam = admin.client("iam")
    iam.create_user(UserName=name)
    for index, document in enumerate(documents):
        arn = iam.create_policy(PolicyName=f"{name}-{index}", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Identity(admin.endpoint, key["AccessKeyId"], key["SecretAccessKey"])


def playbook_runner(identity, tmp_path):
    """run_playbook of tests/conftest.py, but as ``identity`` against the enforcing emulator."""

    def run(text, extra_vars=None, name="playbook"):
        playbook = tmp_path / f"{name}.yml"
        playbook.write_text(text)
        command = ["ansible-playbook", "-i", "localhost,", str(playbook)]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_SHOW_CUSTOM_STATS="1",
                   AWS_ACCESS_KEY_ID=identity.key, AWS_SECRET_ACCESS_KEY=identity.secret, AWS_DEFAULT_REGION=REGION,
                   AWS_ENDPOINT_URL=identity.endpoint)
        env.pop("AWS_SESSION_TOKEN", None)
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".build" / "collections"))
        completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
        keep_output(f"iam/{tmp_path.name}", name, completed.stdout, completed.stderr)
        return PlaybookRun(completed)

    return run


def denied(call):
    try:
        call()
    except ClientError as error:  # moto answers JSON services in XML here: botocore only has the raw body then
        return "AccessDenied" in str(error) or "AccessDenied" in json.dumps(error.response, default=str)
    return False


def test_the_policy_documents_fit_managed_policies():
    documents = policies()
    assert documents, f"no policy in {POLICY_DIR}"
    assert len(documents) <= 3
    for name, document in documents.items():
        assert document["Version"] == "2012-10-17"
        text = (POLICY_DIR / name).read_text()
        assert len("".join(text.split())) <= MANAGED_POLICY_MAX, name
        for statement in document["Statement"]:
            assert statement["Effect"] in ("Allow", "Deny") and statement["Sid"], statement
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), statement


def test_the_emulator_checks_every_service_the_flows_call(admin):
    nobody = make_user(admin, "nobody", [])
    unchecked = [service for service, (operation, kwargs) in PROBES.items()
                 if not denied(lambda s=service, o=operation, k=kwargs: getattr(nobody.client(s), o)(**k))]
    assert unchecked == []
    assert nobody.client("sts").get_caller_identity()["Arn"].endswith(":user/nobody")  # always allowed, as on AWS


def test_every_flow_runs_with_only_the_shipped_policy(admin, site, tmp_path):
    awx = make_user(admin, "awx", list(policies().values()))
    run_playbook = playbook_runner(awx, tmp_path)
    admin.control("DELETE", "requests")
    for storage, project in (("efs_only", "efs"), ("lustre", "lus")):
        request = {"vlab_id": "iamv", "project_id": project, "storage": storage, "accounting": "database"}
        created = lifecycle(run_playbook, "create", site, wait=True, **request)
        assert created.rc == 0, created.stdout[-4000:]
        assert created.stats_data["clusterStatus"] == "CREATE_COMPLETE", created.stats_data
        described = lifecycle(run_playbook, "describe", site, **request)
        assert described.rc == 0 and described.stats_data["clusterStatus"] == "CREATE_COMPLETE", described.stdout[-4000:]
        listed = lifecycle(run_playbook, "list", site, vlab_id="iamv")
        assert listed.rc == 0, listed.stdout[-4000:]
        assert f"pcluster-iamv-{project}" in json.dumps(listed.stats_data["clusters"])
        updated = lifecycle(run_playbook, "update", site, **request)
        assert updated.rc == 0, updated.stdout[-4000:]
        again = lifecycle(run_playbook, "create", site, wait=True, **request)
        assert again.rc == 0, again.stdout[-4000:]
        deleted = lifecycle(run_playbook, "delete", site, **request)
        assert deleted.rc == 0 and deleted.stats_data["clusterStatus"] == "DELETE_COMPLETE", deleted.stdout[-4000:]
    # The direct calls the flows made (what meta/iam is checked against), for whoever reviews the policy.
    (REPO_ROOT / ".build" / "iam-policy-requests.json").write_text(json.dumps(admin.requests(), indent=1))
    assert orphans(admin, "iamv", site["hpc_infra_bucket"]) == []


@pytest.mark.parametrize("missing", ["KeyPairs", "everything"])
def test_create_without_a_needed_statement_fails_closed(admin, site, tmp_path, missing):
    documents = [] if missing == "everything" else [
        dict(document, Statement=[s for s in document["Statement"] if s["Sid"] != missing])
        for document in policies().values()]
    assert missing == "everything" or sum(len(d["Statement"]) for d in documents) < \
        sum(len(d["Statement"]) for d in policies().values()), f"no statement {missing}"
    user = make_user(admin, f"awx-without-{missing.lower()}", documents)
    project = f"no{missing[:3].lower()}"
    before = inventory(admin)
    created = lifecycle(playbook_runner(user, tmp_path), "create", site, wait=True, vlab_id="iamv", project_id=project,
                        storage="efs_only", accounting="database")
    assert created.rc != 0
    message = created.stats_data["error"]["message"]
    # amazon.aws's modules keep the AWS error code in some messages only ("Failed to describe security groups").
    assert "AccessDenied" in message or missing == "everything" and message.startswith("Failed to "), created.stats_data
    assert f"pcluster-iamv-{project}" not in clusters(admin)
    assert [o for o in orphans(admin, "iamv", site["hpc_infra_bucket"]) if f"iamv-{project}" in o or f"iamv/{project}" in o] == []
    assert inventory(admin) == before
