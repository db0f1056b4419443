"""A real Slurm head node for the tests: a systemd container on the host's loopback, configured by the collection's
node playbook (playbooks/node.yml) as ParallelCluster's OnNodeConfigured runs it.

    issuer = TokenIssuer()
    with SlurmHeadNode(cluster=..., vlab_id=..., project_id=..., sim_public_key="ssh-ed25519 AAAA...",
                       infra_bucket=..., endpoint_url=emulator.endpoint, region="us-east-1", data_dir=fsx_dir,
                       jwks=issuer.jwks(), token_issuer=issuer.issuer) as node:
        ssh -p node.ssh_port sim@127.0.0.1 ...      (verify with node.host_key, published to the infra bucket)
        GET node.rest_url + f"/slurm/{node.rest_api_version}/ping"  with  issuer.token("sim")
        node.exec(["sacct", ...]) / node.exec([...], user="sim")

What the node has: Debian 12's Slurm (slurmctld, slurmd, slurmdbd with MariaDB, slurmrestd behind the collection's
REST gate with JWT), munge, sshd; one node (its host name node.node_name) in the default partition debug; accounting
through slurmdbd, with the project's account (= project_id, under the vlab's account) holding the user sim; the
node_bootstrap layout: sim (uid 2000, group obi 2000, and the project's group 2001), home /sbo/home/sim, the
deployment's key authorized, scratch /obi/data/scratch/<project_id> (2770 + ACLs); /obi/data/project/private (2770)
and /obi/data/project/public (2750), owned by sim and the project's group. /obi/data is ``data_dir`` bind-mounted
(the emulator's FSx data directory of the file system, so Lustre imports and exports are visible).

The container shares the host's network (--network host): it reaches the emulator on 127.0.0.1, and the tests reach
its sshd and REST gate there. Every listener binds 127.0.0.1 only, on ports chosen free at start (sshd, slurmctld,
slurmd, slurmdbd, the REST gate; slurmrestd and MariaDB on UNIX sockets only), so that sessions and the Molecule
scenarios never collide. The preparation image localhost/obi-slurm-head (packages and the entry script's venv) is
built once from the systemd base image of scripts/molecule.sh and cached, labelled with a digest of its recipe;
leftover containers of a killed run (name prefix obi-test-head-, owner process gone) are removed at start.
Outputs (ansible-playbook runs, the daemons' logs) go to OUTPUTS/runs/head-node-<name>/ (image builds:
head-node-image/); the secrets made here (munge key, database password) and the tokens issued are registered for
the secret scan (OUTPUTS/stored-secrets-head-node-PID.json), and never printed.
"""

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import OUTPUTS, REPO_ROOT, output_dir  # pylint: disable=import-error
# conftest put the collections path on sys.path.
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names  # pylint: disable=wrong-import-order

PLAYBOOKS = Path(__file__).resolve().parent / "head_node"
WORK = REPO_ROOT / ".build" / "head-node"
CONTAINERS_CONF = REPO_ROOT / ".build" / "molecule" / "containers.conf"
BASE_IMAGE = "localhost/obi-debian-bookworm-systemd"
IMAGE = "localhost/obi-slurm-head"
RECIPE_LABEL = "org.obi.image-recipe"
OWNER_LABEL = "org.obi.test-head-owner"
NAME_PREFIX = "obi-test-head-"
# What a ParallelCluster head node has before OnNodeConfigured (MariaDB for the accounting database), and what the
# roles use: acl (node_bootstrap), python3-pymysql (slurm_accounting's database tasks), python3-venv (the venv).
PACKAGES = ["mariadb-server", "munge", "slurmctld", "slurmd", "slurmdbd", "slurm-client", "slurmrestd",
            "slurm-wlm-jwt-plugin", "openssh-server", "python3-pymysql", "acl", "python3-venv"]
VENV_PYTHON = "/opt/obi/ansible/bin/python"
MOUNT_DIR = "/obi/data"
HOME_ROOT = "/sbo/home"
SIM_USER = "sim"
REST_CLIENT = "workflow-service"
DEFAULT_ISSUER = "http://127.0.0.1/realms/obi-test"
PORT_NAMES = ("ssh", "slurmctld", "slurmd", "slurmdbd", "rest")
SECRETS_FILE = OUTPUTS / f"stored-secrets-head-node-{os.getpid()}.json"


def log(message):
    print(f"[head_node] {message}", file=sys.stderr, flush=True)


def register_secret(value):
    """Add ``value`` to this process's stored-secrets file (0600), which scripts/scan_secrets.py looks for."""
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    with open(SECRETS_FILE, "a+", encoding="utf-8") as handle:
        os.chmod(SECRETS_FILE, 0o600)
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        values = json.loads(text) if text.strip() else []
        values.append(value)
        handle.seek(0)
        handle.truncate()
        json.dump(values, handle)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_int(value):
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class TokenIssuer:
    """A Keycloak realm's signing key: its public JWKS (for the head node) and RS256 access tokens for users.

    The tokens carry what the REST gate and Slurm 22.05 read (iss, azp, sub, preferred_username, sun, iat, exp) and
    are registered for the secret scan. The gate takes tokens of sim from the allowed clients, living at most 3600 s
    (slurm_rest_max_token_lifespan); others get 401/403 (e.g. token(lifetime=-10): expired, token("alice"): 403).
    """

    def __init__(self, issuer=DEFAULT_ISSUER, kid=None):
        self.issuer = issuer
        self.kid = kid or f"obi-test-{uuid.uuid4().hex[:12]}"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self):
        numbers = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
                          "n": _b64url_int(numbers.n), "e": _b64url_int(numbers.e)}]}

    def token(self, user=SIM_USER, client=REST_CLIENT, lifetime=300, **claims):
        """A token for ``user`` from ``client`` (the azp), valid ``lifetime`` seconds; ``claims`` override or add."""
        now = int(time.time())
        payload = {"iss": self.issuer, "azp": client, "aud": client, "sub": user, "typ": "Bearer",
                   "preferred_username": user, "sun": user, "iat": now, "exp": now + lifetime, **claims}
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode())
                                 for part in (header, payload))
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{_b64url(signature)}"
        register_secret(token)
        return token


# Podman and the images.

def podman_env():
    return dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF))


class PodmanError(subprocess.CalledProcessError):
    """A podman command that failed, with the end of its stderr in the message."""

    def __str__(self):
        return f"{super().__str__()}: {(self.stderr or '').strip()[-2000:]}"


def podman(*args, check=True, timeout=300, **kwargs):
    completed = subprocess.run(["podman", *args], env=podman_env(), capture_output=True, text=True, check=False,
                               timeout=timeout, **kwargs)
    if check and completed.returncode != 0:
        raise PodmanError(completed.returncode, completed.args, completed.stdout, completed.stderr)
    return completed


def _podman_ready():
    return shutil.which("podman") and CONTAINERS_CONF.exists() \
        and podman("image", "exists", BASE_IMAGE, check=False).returncode == 0


def ensure_podman():
    """scripts/molecule.sh --images (podman, its containers.conf, the systemd base images) unless all are there.

    Under a lock: on a fresh machine both pytest workers get here at once, and two apt-get or debootstrap runs at
    the same time fail."""
    if _podman_ready():
        return
    with _locked(WORK / "podman.lock"):
        if _podman_ready():
            return
        log("podman or the base image missing: bash scripts/molecule.sh --images")
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "molecule.sh"), "--images"], cwd=REPO_ROOT, check=True,
                       stdout=subprocess.DEVNULL, timeout=3600)


def _process_start(pid):
    """The start time of process ``pid`` (field 22 of /proc/PID/stat), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_label():
    """pid:start of this process: a container whose owner is gone was left by a killed run."""
    return f"{os.getpid()}:{_process_start(os.getpid())}"


def _owner_alive(label):
    pid, _colon, start = (label or "").partition(":")
    return pid.isdigit() and _process_start(int(pid)) == start


def remove_leftover_containers():
    """Remove the obi-test-head-* containers whose owning process is gone (a killed run); others' are left alone."""
    listed = podman("ps", "--all", "--format", "json", "--filter", f"name=^{NAME_PREFIX}", check=False)
    for container in json.loads(listed.stdout or "[]"):
        if not _owner_alive((container.get("Labels") or {}).get(OWNER_LABEL)):
            name = container["Names"][0]
            log(f"removing leftover container {name}")
            podman("rm", "--force", "--time", "5", name, check=False)


def image_recipe():
    """The digest of how localhost/obi-slurm-head is made: the playbook, the packages and the base image."""
    base = podman("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE).stdout.strip()
    text = "\n".join([(PLAYBOOKS / "image.yml").read_text(encoding="utf-8"), " ".join(PACKAGES), base])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _image_label(image):
    inspected = podman("image", "inspect", "--format", f'{{{{index .Labels "{RECIPE_LABEL}"}}}}', image, check=False)
    return inspected.stdout.strip() if inspected.returncode == 0 else None


@contextlib.contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_systemd_container(name, image, *options):
    """A container of ``image`` running systemd (molecule-plugins' systemd: always), on the host's network."""
    podman("run", "--detach", "--name", name, "--label", f"{OWNER_LABEL}={owner_label()}", "--network", "host",
           "--systemd", "always", *options, image, "/lib/systemd/systemd")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = podman("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"systemd in {name} did not finish booting in 120 s (state {state!r})")


def write_vars_file(folder, variables):
    """``variables`` as a 0600 JSON file in ``folder`` (secrets never on a command line); returns its path."""
    path = Path(folder) / "vars.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(variables), encoding="utf-8")
    return path


def run_playbook(playbook, container, make_variables, log_path):
    """ansible-playbook ``playbook`` on ``container`` over the podman connection, with the variables that
    ``make_variables()`` returns, from a 0600 file; the output goes to ``log_path`` only. Raises on failure.
    The variables (secrets among them) are never a local of a frame a failure's traceback would show."""
    with tempfile.TemporaryDirectory(prefix="head-node-", dir=WORK) as private:
        vars_file = write_vars_file(private, make_variables())
        env = dict(podman_env(), ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", ANSIBLE_GATHER_SUBSET="!all,min",
                   ANSIBLE_DISPLAY_SKIPPED_HOSTS="0")
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".build" / "collections"))
        completed = subprocess.run(
            ["ansible-playbook", "-i", f"{container},", "-c", "containers.podman.podman", "-e", f"@{vars_file}",
             str(playbook)], env=env, capture_output=True, text=True, timeout=1200, check=False)
    log_path.write_text(completed.stdout + "\n" + completed.stderr, encoding="utf-8")
    if completed.returncode != 0:
        raise RuntimeError(f"{playbook.name} failed on {container} (rc {completed.returncode}), see {log_path}")


def _image_variables():
    """image.yml's: the packages, and how this machine reaches PyPI (its CA bundle and mirror, as its pip does)."""
    cert = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    index_url = os.environ.get("PIP_INDEX_URL", "")
    return {"head_node_packages": PACKAGES, "ansible_python_interpreter": "/usr/bin/python3",
            "head_node_pip_cert": cert if os.path.isfile(cert) else "",
            "head_node_pip_index_url": index_url if index_url.startswith(("http://", "https://")) else ""}


def ensure_image():
    """localhost/obi-slurm-head, built when missing or made from another recipe; returns the build's seconds or 0."""
    WORK.mkdir(parents=True, exist_ok=True)
    with _locked(WORK / "image.lock"):
        recipe = image_recipe()
        if _image_label(IMAGE) == recipe:
            return 0
        started = time.monotonic()
        log(f"building {IMAGE} (recipe {recipe})")
        old = podman("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
        name = f"{NAME_PREFIX}build-{os.getpid()}"
        podman("rm", "--force", name, check=False)
        try:
            run_systemd_container(name, BASE_IMAGE)
            run_playbook(PLAYBOOKS / "image.yml", name, _image_variables,
                         output_dir("head-node-image") / f"image-{recipe}.log")
            podman("stop", "--time", "20", name)
            podman("commit", "--change", 'CMD ["/lib/systemd/systemd"]', "--change", f"LABEL {RECIPE_LABEL}={recipe}",
                   name, IMAGE, timeout=900)
        finally:
            podman("rm", "--force", name, check=False)
        if old:  # the image it replaces, unless a container still uses it
            podman("rmi", old, check=False)
        seconds = time.monotonic() - started
        log(f"built {IMAGE} in {seconds:.0f} s")
        return seconds


def free_ports(count):
    """``count`` distinct ports free on 127.0.0.1 (all held until all are chosen)."""
    sockets = []
    try:
        for _index in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class SlurmHeadNode:
    """A cluster's head node in a container (see the module's docstring). A context manager: start() and stop().

    Given (keywords): cluster (the Slurm cluster name, at most 40 characters: names.cluster_name(..., "database")),
    vlab_id, project_id, sim_public_key (one OpenSSH public key line), infra_bucket, endpoint_url (the emulator,
    http://127.0.0.1:PORT), region, data_dir (host directory mounted at /obi/data), jwks and token_issuer (the realm's
    public JWKS and its iss, e.g. TokenIssuer's), rest_clients (the azp values allowed, default workflow-service).
    After start(): name (the container), node_name (its host name, Slurm's NodeName), ssh_port, rest_url
    (http://127.0.0.1:PORT, the REST gate), host_key (the published "ssh-ed25519 AAAA..." line), ports
    ({ssh, slurmctld, slurmd, slurmdbd, rest}), slurm_version (e.g. 22.05.8), rest_api_version (e.g. v0.0.38),
    mount_dir (/obi/data), home (sim's, /sbo/home/sim), outputs (its folder of outputs), timings (seconds).
    """

    # pylint: disable=too-many-instance-attributes,too-many-arguments
    def __init__(self, *, cluster, vlab_id, project_id, sim_public_key, infra_bucket, endpoint_url, region, data_dir,
                 jwks, token_issuer, rest_clients=(REST_CLIENT,)):
        if not endpoint_url.startswith("http://127.0.0.1:"):
            raise ValueError(f"endpoint_url must be the emulator on 127.0.0.1, got {endpoint_url!r}")
        self.cluster, self.vlab_id, self.project_id = cluster, vlab_id, project_id
        self.sim_public_key = sim_public_key.strip()
        self.infra_bucket, self.endpoint_url, self.region = infra_bucket, endpoint_url, region
        self.data_dir = Path(data_dir)
        self.jwks, self.token_issuer, self.rest_clients = jwks, token_issuer, list(rest_clients)
        suffix = uuid.uuid4().hex[:8]
        self.name = f"{NAME_PREFIX}{suffix}"          # the container
        self.node_name = f"obi-head-{suffix}"         # its host name: slurm.conf's NodeName and SlurmctldHost
        self.mount_dir, self.home = MOUNT_DIR, f"{HOME_ROOT}/{SIM_USER}"
        self.ports = {}
        self.ssh_port = self.rest_url = self.host_key = None
        self.slurm_version = self.rest_api_version = None
        self.timings = {}
        self.outputs = output_dir(f"head-node-{self.name}")
        self._started = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        started = time.monotonic()
        ensure_podman()
        remove_leftover_containers()
        self.timings["image_build"] = ensure_image()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES))))
        self.ssh_port, self.rest_url = self.ports["ssh"], f"http://127.0.0.1:{self.ports['rest']}"
        self._started = True
        try:
            mark = time.monotonic()
            run_systemd_container(self.name, IMAGE, "--hostname", self.node_name,
                                  "--add-host", f"{self.node_name}:127.0.0.1",
                                  "--volume", f"{self.data_dir.resolve()}:{MOUNT_DIR}")
            self.timings["container"] = time.monotonic() - mark
            mark = time.monotonic()
            run_playbook(PLAYBOOKS / "configure.yml", self.name, self._variables, self.outputs / "configure.log")
            self.timings["configure"] = time.monotonic() - mark
            self.host_key = self._published_host_key()
            self.slurm_version = self._slurm_version()
            self.rest_api_version = self._api_versions().get(".".join(self.slurm_version.split(".")[:2]))
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - started
        log(f"{self.name} ({self.node_name}, Slurm {self.slurm_version}) ready: ssh {self.ssh_port}, REST "
            f"{self.rest_url}; " + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items()))
        return self

    def stop(self):
        """Keep the daemons' logs in the outputs, then remove the container (also after a failed start)."""
        if not self._started:
            return
        self._started = False
        mark = time.monotonic()
        with contextlib.suppress(Exception):
            self._keep_logs()
        podman("rm", "--force", "--time", "5", self.name, check=False)
        self.timings["stop"] = time.monotonic() - mark

    # pylint: disable-next=redefined-builtin  # subprocess.run's name
    def exec(self, argv, user=None, workdir=None, input=None, check=False, timeout=120):
        """Run ``argv`` in the container (as root, or as ``user`` with its groups, from its home by default);
        returns the CompletedProcess (text)."""
        command = ["exec"] + (["--interactive"] if input is not None else [])
        workdir = workdir or (f"{HOME_ROOT}/{user}" if user and user != "root" else None)
        command += (["--workdir", workdir] if workdir else []) + [self.name]
        command += ["runuser", "-u", user, "--"] if user else []
        return podman(*command, *argv, input=input, check=check, timeout=timeout)

    # The pieces of start().

    def _variables(self):
        """The vars of configure.yml: the session's settings, and the node variables as cluster_config renders them
        (cluster_config_node_vars) for a head node with accounting and the REST API; secrets made here."""
        db_password, munge_key = secrets.token_urlsafe(24), base64.b64encode(secrets.token_bytes(48)).decode()
        register_secret(db_password)
        register_secret(munge_key)
        return {
            "node_hosts": self.name, "ansible_python_interpreter": VENV_PYTHON,
            "head_node_name": self.node_name, "head_node_cluster": self.cluster, "head_node_ports": self.ports,
            "head_node_cpus": os.cpu_count() or 1,
            "node_type": "HeadNode",
            "node_bootstrap_cluster_name": self.cluster, "node_bootstrap_vlab_id": self.vlab_id,
            "node_bootstrap_project_id": self.project_id, "node_bootstrap_sim_pubkey": self.sim_public_key,
            "node_bootstrap_home_root": HOME_ROOT, "node_bootstrap_scratch_root": f"{MOUNT_DIR}/scratch",
            "node_bootstrap_s3_mounts": [], "node_bootstrap_modules_enabled": False,
            "node_bootstrap_host_key_bucket": self.infra_bucket,
            "node_bootstrap_aws_endpoint_url": self.endpoint_url, "node_bootstrap_aws_region": self.region,
            "node_job_logs": False,
            "node_accounting": True,
            "slurm_accounting_cluster_name": self.cluster,
            "slurm_accounting_projects": [{"vlab_id": self.vlab_id, "project_id": self.project_id,
                                           "users": [SIM_USER]}],
            "slurm_accounting_db_password": db_password, "slurm_accounting_munge_key": munge_key,
            "slurm_accounting_db_login_unix_socket": "/run/mysqld/mysqld.sock",
            "slurm_accounting_dbd_port": self.ports["slurmdbd"],
            "slurm_accounting_slurm_conf_path": "/etc/slurm/slurm.conf",
            # slurmdbd on the node name's address (127.0.0.1) only, as slurm.conf does for the other daemons.
            "slurm_accounting_dbd_extra_options": {"CommunicationParameters": "NoInAddrAny"},
            "node_slurm_rest": True,
            "slurm_rest_jwks": self.jwks, "slurm_rest_token_issuer": self.token_issuer,
            "slurm_rest_allowed_clients": self.rest_clients, "slurm_rest_allowed_users": [SIM_USER],
            "slurm_rest_allowed_cidrs": ["127.0.0.0/8"],
            "slurm_rest_listen_address": "127.0.0.1", "slurm_rest_port": self.ports["rest"],
            "slurm_rest_url_host": "127.0.0.1",
            # Slurm 22.05 reads the user from sun (or username) only.
            "slurm_rest_user_claim": "sun",
            "slurm_rest_slurmdbd_service": "slurmdbd", "slurm_rest_slurmdbd_conf_path": "/etc/slurm/slurmdbd.conf",
            # No mount namespaces in these containers.
            "slurm_rest_systemd_hardening": False,
        }

    def _published_host_key(self):
        import boto3  # pylint: disable=import-outside-toplevel

        s3 = boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        key = names.cluster_resource_names(self.cluster)["host_key_key"]
        return s3.get_object(Bucket=self.infra_bucket, Key=key)["Body"].read().decode().strip()

    def _slurm_version(self):
        return self.exec(["slurmrestd", "-V"], check=True).stdout.split()[-1]

    @staticmethod
    def _api_versions():
        """The slurm_rest role's table of the OpenAPI version each Slurm release serves."""
        role_vars = yaml.safe_load((REPO_ROOT / "roles" / "slurm_rest" / "vars" / "main.yml").read_text("utf-8"))
        return role_vars["_slurm_rest_api_versions"]

    def _keep_logs(self):
        """The Slurm daemons' log files and the units' journal, for a failure to be read after the container is gone."""
        logs = self.exec(["sh", "-c", "tail -n 2000 /var/log/slurm/*.log"], timeout=30)
        (self.outputs / "slurm-logs.log").write_text(logs.stdout + logs.stderr, encoding="utf-8")
        units = [arg for unit in ("slurmctld", "slurmd", "slurmdbd", "slurmrestd", "slurm-rest-gate", "ssh", "munge",
                                  "mariadb") for arg in ("-u", unit)]
        journal = self.exec(["journalctl", "--no-pager", "-n", "2000", *units], timeout=30)
        (self.outputs / "journal.log").write_text(journal.stdout + journal.stderr, encoding="utf-8")
