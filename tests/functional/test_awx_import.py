"""awx/job_templates.json through awxkit's own import code, against a small fake AWX API on 127.0.0.1.

`awx import < awx/job_templates.json` runs ``ApiV2.import_assets`` (awxkit/api/pages/api.py); so do these tests,
with awxkit's real pages and its HTTP client, against a fake AWX that answers what that code asks: the API roots, the
OPTIONS (POST schemas) of the resource lists, list lookups by name (natural keys), POST creating objects, PUT on a
re-import, POST {"id": ...} attaching credentials and notification templates, POST of survey specs. The fake starts
with only what an AWX has built in (its managed credential types, which exports leave out) and validates as AWX 24.6
does what matters here. awxkit sends null for a natural key it cannot find on the server; the fake, as AWX, refuses
a credential without owner, an inventory without organization, a job template without project or inventory (or
whose playbook the project lacks), an id that names no object, a bad survey spec or notification message; awxkit
itself reports an attachment (credential, notification template) it cannot find. So an import that succeeds on the
empty fake shows that the file brings everything its job templates name, and the broken copies show that the
import reports what is missing.

The awxkit CLI module itself is not run: awxkit 24.6.1's ``awx`` command imports pkg_resources, which setuptools 82
removed; ``import_assets`` and its ``_has_error`` flag are what the CLI's ``import`` command returns as exit code.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import copy
import json
import logging
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from awxkit import exceptions as awx_exceptions
from awxkit.api import Api
from awxkit.api.client import Connection
from jinja2 import ChainableUndefined, StrictUndefined
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO_ROOT = Path(__file__).resolve().parents[2]
IMPORT_FILE = REPO_ROOT / "awx" / "job_templates.json"
TOKEN = "fake-awx-token"  # the fake's own bearer token, not a secret of anything
ORG = {"name": "Open Brain Institute", "type": "organization"}
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")  # awxkit's own
TEMPLATES = {"hpc-create", "hpc-describe", "hpc-list", "hpc-update", "hpc-delete",  # the lifecycle
             "hpc-health", "hpc-job-submit", "hpc-job-status", "hpc-job-cancel",  # jobs on a project's cluster
             "hpc-data-upload", "hpc-data-download", "hpc-data-list", "hpc-data-delete"}  # and its data

# ---------------------------------------------------------------------------------------------------------------------
# The fake AWX: POST schemas (the fields AWX 24.6's serializers accept on create), as OPTIONS answers them.


def _f(kind, required=False, **extra):
    return dict(extra, type=kind, required=required)


def _fk(target, required=False):
    return _f("id", required, target=target)


def _choice(*choices, required=False):
    return _f("choice", required, choices=list(choices))


NAME = {"name": _f("string", True), "description": _f("string")}
SCHEMAS = {
    "organizations": {**NAME, "max_hosts": _f("integer"), "default_environment": _fk("execution_environments")},
    "credential_types": {**NAME, "kind": _choice("cloud", "net", required=True), "inputs": _f("json"), "injectors": _f("json")},
    "credentials": {**NAME, "organization": _fk("organizations"), "credential_type": _fk("credential_types", True),
                    "inputs": _f("json"), "user": _fk("users"), "team": _fk("teams")},
    "notification_templates": {**NAME, "organization": _fk("organizations"),
                               "notification_type": _choice("awssns", "email", "grafana", "irc", "mattermost", "pagerduty",
                                                            "rocketchat", "slack", "twilio", "webhook", required=True),
                               "notification_configuration": _f("json"), "messages": _f("json")},
    "execution_environments": {**NAME, "organization": _fk("organizations"), "image": _f("string", True),
                               "credential": _fk("credentials"), "pull": _choice("", "always", "missing", "never")},
    "projects": {**NAME, "local_path": _f("string"), "scm_type": _choice("", "git", "svn", "insights", "archive"),
                 "scm_url": _f("string"), "scm_branch": _f("string"), "scm_refspec": _f("string"), "scm_clean": _f("boolean"),
                 "scm_track_submodules": _f("boolean"), "scm_delete_on_update": _f("boolean"), "credential": _fk("credentials"),
                 "timeout": _f("integer"), "organization": _fk("organizations"), "scm_update_on_launch": _f("boolean"),
                 "scm_update_cache_timeout": _f("integer"), "allow_override": _f("boolean"),
                 "default_environment": _fk("execution_environments"), "signature_validation_credential": _fk("credentials")},
    "inventories": {**NAME, "organization": _fk("organizations", True), "kind": _choice("", "smart", "constructed"),
                    "host_filter": _f("string"), "variables": _f("string"), "prevent_instance_group_fallback": _f("boolean")},
    "hosts": {**NAME, "inventory": _fk("inventories", True), "enabled": _f("boolean"), "instance_id": _f("string"),
              "variables": _f("string")},
    "job_templates": {**NAME, "job_type": _choice("run", "check"), "inventory": _fk("inventories"), "project": _fk("projects"),
                      "playbook": _f("string"), "scm_branch": _f("string"), "forks": _f("integer"), "limit": _f("string"),
                      "verbosity": _choice(0, 1, 2, 3, 4, 5), "extra_vars": _f("string"), "job_tags": _f("string"),
                      "force_handlers": _f("boolean"), "skip_tags": _f("string"), "start_at_task": _f("string"),
                      "timeout": _f("integer"), "use_fact_cache": _f("boolean"), "execution_environment": _fk("execution_environments"),
                      "host_config_key": _f("string"), "survey_enabled": _f("boolean"), "become_enabled": _f("boolean"),
                      "diff_mode": _f("boolean"), "allow_simultaneous": _f("boolean"), "job_slice_count": _f("integer"),
                      "webhook_service": _choice("", "github", "gitlab", "bitbucket_dc"), "webhook_credential": _fk("credentials"),
                      "prevent_instance_group_fallback": _f("boolean"),
                      **{f"ask_{what}_on_launch": _f("boolean") for what in (
                          "scm_branch", "diff_mode", "variables", "limit", "tags", "skip_tags", "job_type", "verbosity", "inventory",
                          "credential", "execution_environment", "labels", "forks", "job_slice_count", "timeout", "instance_groups")}},
}
OBJECT_TYPE = {"organizations": "organization", "credential_types": "credential_type", "credentials": "credential",
               "notification_templates": "notification_template", "execution_environments": "execution_environment",
               "projects": "project", "inventories": "inventory", "hosts": "host", "job_templates": "job_template"}
# The import file's top-level keys (awxkit's EXPORTABLE_RESOURCES) -> the fake's collections.
FILE_KEYS = {"organizations": "organizations", "credentials": "credentials", "notification_templates": "notification_templates",
             "projects": "projects", "inventory": "inventories", "execution_environments": "execution_environments",
             "job_templates": "job_templates"}
# Lists that import_assets asks OPTIONS of although the file has nothing for them: schema only, no object is modelled.
UNMODELLED = ["users", "teams", "inventory_sources", "workflow_job_templates", "applications", "schedules", "system_job_templates"]
# Object -> sub-lists that a POST {"id": ...} attaches to (AWX's SubListAttachDetachAPIView).
ATTACH = {"job_templates": {"credentials": "credentials", "notification_templates_started": "notification_templates",
                            "notification_templates_success": "notification_templates",
                            "notification_templates_error": "notification_templates"}}
# Foreign keys that AWX shows but takes from elsewhere: a job template's organization is its project's.
READ_ONLY_KEYS = {"job_templates": {"organization": "organizations"}}
# Required on create only: a host's inventory cannot change (HostSerializer.build_relational_field).
CREATE_ONLY = {("hosts", "inventory")}
UNIQUE = {"organizations": ("name",), "credential_types": ("name", "kind"), "credentials": ("organization", "name", "credential_type"),
          "notification_templates": ("organization", "name"), "projects": ("organization", "name"),
          "inventories": ("organization", "name"), "hosts": ("inventory", "name"), "job_templates": ("organization", "name")}
MANAGED_CREDENTIAL_TYPES = [  # a part of what AWX creates itself (awx/main/models/credential/__init__.py)
    {"name": "Machine", "kind": "ssh", "managed": True, "namespace": "ssh",
     "inputs": {"fields": [{"id": "username", "type": "string"}, {"id": "password", "type": "string", "secret": True}]}},
    {"name": "Amazon Web Services", "kind": "cloud", "managed": True, "namespace": "aws",
     "inputs": {"fields": [{"id": "username", "type": "string"}, {"id": "password", "type": "string", "secret": True},
                           {"id": "security_token", "type": "string", "secret": True}], "required": ["username", "password"]}},
    {"name": "Container Registry", "kind": "registry", "managed": True, "namespace": "registry",
     "inputs": {"fields": [{"id": "host", "type": "string"}, {"id": "username", "type": "string"},
                           {"id": "password", "type": "string", "secret": True}], "required": ["host"]}},
]
WEBHOOK_PARAMETERS = {  # awx/main/notifications/webhook_backend.py: init_parameters (a default makes it optional)
    "url": ("string", None), "http_method": ("string", "POST"), "disable_ssl_verification": ("bool", False),
    "username": ("string", ""), "password": ("password", ""), "headers": ("object", None)}
PYTHON_TYPES = {"string": str, "password": str, "bool": bool, "object": dict}
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str, "integer": int,
                "float": (float, int)}
# What AWX renders notification messages against when it validates them (JobNotificationMixin.context_stub, abridged).
CONTEXT_STUB = {
    "job": {"id": 42, "name": "Stub JobTemplate", "type": "job", "url": "/api/v2/jobs/13/", "status": "running", "failed": False,
            "started": "2019-07-29T17:38:14.137461Z", "finished": False, "elapsed": 0.403018, "job_explanation": "Sample job explanation",
            "launch_type": "workflow", "playbook": "ping.yml", "artifacts": {}, "limit": "bar_limit", "execution_node": "awx",
            "summary_fields": {"job_template": {"id": 39, "name": "Stub JobTemplate", "description": ""},
                               "project": {"id": 38, "name": "Stub project", "status": "successful", "scm_type": "git"}}},
    "job_friendly_name": "Job", "url": "https://towerhost/#/jobs/playbook/1010", "approval_status": "approved",
    "approval_node_name": "Approve Me", "workflow_url": "https://towerhost/#/jobs/workflow/1010",
    "job_metadata": "{'url': 'https://towerhost/$/jobs/playbook/13', 'status': 'running', 'id': 42}",
}
VALID_PLAYBOOK = re.compile(r"^\s*?-?\s*?(?:hosts|(ansible\.builtin\.)?include|(ansible\.builtin\.)?import_playbook):\s*?.*?$")


def project_playbooks(root):
    """The playbooks AWX lists for a project checked out at ``root`` (awx/main/utils/ansible.py: could_be_playbook)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        relative = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("roles", "tasks", "group_vars", "host_vars")]
        if set(relative.split(os.sep)) & {"roles", "tasks", "group_vars", "host_vars"}:
            continue
        for filename in filenames:
            if os.path.splitext(filename)[1] in (".yml", ".yaml"):
                with open(os.path.join(dirpath, filename), encoding="utf-8", errors="ignore") as stream:
                    if any(VALID_PLAYBOOK.match(line) for line in stream):
                        found.append(os.path.normpath(os.path.join(relative, filename)))
    return sorted(found)


class Refused(Exception):
    """A 4xx answer of the fake AWX."""

    def __init__(self, status, body):
        super().__init__(body)
        self.status, self.body = status, body


class FakeAwx:
    """The objects of the fake AWX and what AWX does with a request to them (the HTTP layer is in ``_Handler``)."""

    def __init__(self, playbooks):
        self.playbooks = playbooks
        self.objects = {name: {} for name in [*SCHEMAS, *UNMODELLED]}
        self.requests = []
        self.next_id = 1
        for managed in MANAGED_CREDENTIAL_TYPES:
            self._store("credential_types", copy.deepcopy(managed))

    def _store(self, collection, fields):
        fields["id"] = self.next_id
        self.next_id += 1
        self.objects[collection][fields["id"]] = fields
        return fields

    def named(self, collection, name):
        (found,) = [o for o in self.objects[collection].values() if o["name"] == name]
        return found

    # -- representation ----------------------------------------------------------------------------------------------
    def url(self, collection, pk):
        return f"/api/v2/{collection}/{pk}/"

    def serialize(self, collection, obj):
        related = {}
        data = {"id": obj["id"], "type": OBJECT_TYPE[collection], "url": self.url(collection, obj["id"]), "related": related,
                "summary_fields": {}, "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"}
        targets = {f: s["target"] for f, s in SCHEMAS[collection].items() if s["type"] == "id"}
        targets.update(READ_ONLY_KEYS.get(collection, {}))
        for field in [*SCHEMAS[collection], *READ_ONLY_KEYS.get(collection, {})]:
            data[field] = obj.get(field)
            if field in targets and obj.get(field) is not None:
                related[field] = self.url(targets[field], obj[field])
        for field in ("managed", "namespace", "status", "scm_revision"):
            if field in obj:
                data[field] = obj[field]
        if collection == "credentials":  # AWX never shows a secret input
            secret = {f["id"] for f in self.objects["credential_types"][obj["credential_type"]]["inputs"]["fields"] if f.get("secret")}
            data["inputs"] = {k: "$encrypted$" if k in secret and v else v for k, v in (obj.get("inputs") or {}).items()}
        if collection == "notification_templates":
            configuration = dict(obj.get("notification_configuration") or {})
            if configuration.get("password"):
                configuration["password"] = "$encrypted$"
            data["notification_configuration"] = configuration
        if collection == "inventories":
            related["hosts"] = f"{data['url']}hosts/"
        if collection == "projects":
            related["playbooks"] = f"{data['url']}playbooks/"
        if collection == "job_templates":
            related.update({name: f"{data['url']}{name}/" for name in ATTACH["job_templates"]})
            related["survey_spec"] = f"{data['url']}survey_spec/"
        return data

    def listing(self, collection, query, parent=None):
        rows = [o for o in self.objects[collection].values() if parent is None or all(o.get(k) == v for k, v in parent.items())]
        for key, value in query.items():
            if key in ("page_size", "page", "order_by"):
                continue
            if key not in SCHEMAS.get(collection, {}) and key not in ("id", "name"):
                raise Refused(400, {"detail": f"invalid filter field {key!r}"})
            rows = [o for o in rows if str(o.get(key)) == value]
        return {"count": len(rows), "next": None, "previous": None, "results": [self.serialize(collection, o) for o in rows]}

    # -- validation (AWX 24.6's serializers and views, the parts that matter here) -----------------------------------
    def _check_fields(self, collection, payload, existing=None):
        """The payload's known fields, typed and resolved as DRF does; unknown fields are dropped, as DRF drops them."""
        errors, values = {}, {}
        for field, spec in SCHEMAS[collection].items():
            if field not in payload:
                if spec["required"] and (existing is None or (collection, field) not in CREATE_ONLY):
                    errors[field] = ["This field is required."]
                continue
            if existing is not None and (collection, field) in CREATE_ONLY:
                continue
            value = payload[field]
            if spec["type"] == "id":
                if value is None:
                    if spec["required"]:
                        errors[field] = ["This field may not be null."]
                elif not isinstance(value, int) or isinstance(value, bool):
                    errors[field] = [f"Incorrect type. Expected pk value, received {type(value).__name__}."]
                elif value not in self.objects[spec["target"]]:
                    errors[field] = [f'Invalid pk "{value}" - object does not exist.']
            elif spec["type"] == "choice" and value not in spec["choices"]:
                errors[field] = [f'"{value}" is not a valid choice.']
            elif spec["type"] == "string" and not isinstance(value, str):
                errors[field] = ["Not a valid string."]
            elif spec["type"] == "boolean" and not isinstance(value, bool):
                errors[field] = ["Must be a valid boolean."]
            elif spec["type"] == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
                errors[field] = ["A valid integer is required."]
            values[field] = value
        if errors:
            raise Refused(400, errors)
        return values

    def _validate(self, collection, values, existing):
        merged = {**(existing or {}), **values}
        check = getattr(self, f"_validate_{collection}", None)
        if check:
            check(merged, existing)
        unique = UNIQUE.get(collection)
        if unique:
            for other in self.objects[collection].values():
                if other is not existing and all(other.get(k) == merged.get(k) for k in unique):
                    raise Refused(400, {"__all__": [f"{OBJECT_TYPE[collection]} with this {', '.join(unique)} already exists."]})

    def _validate_credentials(self, merged, existing):
        owners = [f for f in ("organization", "user", "team") if merged.get(f) is not None]
        if not owners:
            raise Refused(400, {"detail": "Missing 'user', 'team', or 'organization'."})
        if len(owners) > 1:
            raise Refused(400, {"detail": f"Only one of 'user', 'team', or 'organization' should be provided, received {owners}."})
        fields = self.objects["credential_types"][merged["credential_type"]]["inputs"]["fields"]
        inputs = merged.get("inputs") or {}
        if not isinstance(inputs, dict) or set(inputs) - {f["id"] for f in fields}:
            raise Refused(400, {"inputs": ["Additional properties are not allowed."]})
        for field in fields:
            if field.get("secret") and existing is None and inputs.get(field["id"]) == "$encrypted$":
                raise Refused(400, {"inputs": [f"$encrypted$ is a reserved keyword, and cannot be used for {field['id']}."]})

    def _validate_execution_environments(self, merged, _existing):
        if merged.get("credential") and self.objects["credential_types"][self.objects["credentials"][merged["credential"]]
                                                                         ["credential_type"]]["kind"] != "registry":
            raise Refused(400, {"credential": ["Only Container Registry credentials can be associated with an Execution Environment"]})

    def _validate_projects(self, merged, _existing):
        if merged.get("scm_type") and not merged.get("scm_url"):
            raise Refused(400, {"scm_url": ["SCM type requires a URL."]})

    def _validate_notification_templates(self, merged, _existing):
        if merged.get("notification_type") != "webhook":
            raise Refused(400, {"notification_type": ["only webhook is modelled by this fake"]})
        configuration = merged.get("notification_configuration")
        if not isinstance(configuration, dict):
            raise Refused(400, ["Missing required fields for Notification Configuration: notification_configuration."])
        errors = [f"Missing required fields for Notification Configuration: {field}." for field, (_kind, default) in WEBHOOK_PARAMETERS.items()
                  if field not in configuration and default is None]
        errors += [f"Configuration field '{field}' incorrect type, expected {kind}." for field, (kind, _default) in WEBHOOK_PARAMETERS.items()
                   if field in configuration and not isinstance(configuration[field], PYTHON_TYPES[kind])]
        if str(configuration.get("http_method", "POST")).lower() not in ("post", "put"):
            errors.append("HTTP method must be either 'POST' or 'PUT'.")
        errors += self._message_errors(merged.get("messages"))
        if errors:
            raise Refused(400, errors)

    @staticmethod
    def _message_errors(messages):
        """NotificationTemplateSerializer.validate_messages: the structure, and every message renders on the stub context."""
        if messages is None:
            return []
        if not isinstance(messages, dict):
            return ["Expected dict for 'messages' field"]
        errors, texts = [], []
        for event, event_messages in messages.items():
            if event not in ("started", "success", "error", "workflow_approval"):
                errors.append(f"Event '{event}' invalid, must be one of 'started', 'success', 'error', or 'workflow_approval'")
                continue
            groups = (event_messages or {}).values() if event == "workflow_approval" else [event_messages]
            for group in groups:
                for kind, text in (group or {}).items():
                    if kind not in ("message", "body"):
                        errors.append(f"Message type '{kind}' invalid, must be either 'message' or 'body'")
                    elif text is not None and not isinstance(text, str):
                        errors.append(f"Expected string for '{kind}'")
                    elif kind == "message" and text and "\n" in text:
                        errors.append(f"Messages cannot contain newlines (found newline in {event} event)")
                    elif text:
                        texts.append(text)
        for text in texts:
            try:
                ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(text).render(CONTEXT_STUB)
            except TemplateError as error:
                errors.append(f"Unable to render message '{text}': {error}")
        return errors

    def _validate_inventories(self, merged, _existing):
        if merged.get("organization") is None:
            raise Refused(400, {"organization": ["This field may not be null."]})

    def _validate_job_templates(self, merged, _existing):
        if merged.get("project") is None:
            raise Refused(400, {"project": ["Job Templates must have a project assigned."]})
        if merged.get("inventory") is None and not merged.get("ask_inventory_on_launch"):
            raise Refused(400, {"inventory": ["You must either set a default value or ask to prompt on launch."]})
        if not merged.get("playbook"):
            raise Refused(400, {"playbook": ["Must select playbook for project."]})
        if merged["playbook"] not in self.objects["projects"][merged["project"]]["playbook_files"]:
            raise Refused(400, {"playbook": ["Playbook not found for project."]})
        try:
            extra_vars = yaml.safe_load(merged.get("extra_vars") or "") or {}
        except yaml.YAMLError as error:
            raise Refused(400, {"extra_vars": [str(error)]}) from error
        if not isinstance(extra_vars, dict):
            raise Refused(400, {"extra_vars": ["Must be a YAML or JSON dictionary."]})

    @staticmethod
    def _survey_error(spec):
        """JobTemplateSurveySpec._validate_spec_data; of its password-default handling, what a first import meets: the
        reserved default $encrypted$ refused (no earlier spec holds the encrypted value it stands for)."""
        for field, kind in (("name", str), ("description", str), ("spec", list)):
            if not isinstance(spec.get(field), kind):
                return f"Field '{field}' is missing from survey spec or has the wrong type."
        if not spec["spec"]:
            return "'spec' doesn't contain any items."
        variables = set()
        for idx, item in enumerate(spec["spec"]):
            for field, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
                if not isinstance(item.get(field), kind):
                    return f"'{field}' missing from survey question {idx} or of the wrong type"
            if item["variable"] in variables:
                return f"'variable' '{item['variable']}' duplicated in survey question {idx}."
            variables.add(item["variable"])
            if item["type"] not in SURVEY_TYPES:
                return f"'{item['type']}' in survey question {idx} is not an allowed question type."
            if item.get("default", "") != "" and not isinstance(item["default"], SURVEY_TYPES[item["type"]]):
                return f"Default value {item['default']} in survey question {idx} has the wrong type."
            if item["type"] == "password" and str(item.get("default", "")).startswith("$encrypted$"):
                return (f"$encrypted$ is a reserved keyword for password question defaults, survey question {idx} is"
                        f" type {item['type']}.")
            if any(item.get(key) is not None and not isinstance(item[key], int) for key in ("min", "max")):
                return f"The min or max limit in survey question {idx} expected to be integer."
            if item["type"] in ("multiplechoice", "multiselect"):
                if "choices" not in item:
                    return f"Survey question {idx} of type {item['type']} must specify choices."
                defaults = str(item.get("default", "")).splitlines()
                if item["type"] == "multiplechoice" and len(defaults) > 1:
                    return "Multiple Choice (Single Select) can only have one default value."
                if any(default not in item["choices"] for default in defaults):
                    return "Default choice must be answered from the choices listed."
        return None

    # -- requests --------------------------------------------------------------------------------------------------
    def create(self, collection, payload, parent=None):
        if collection in UNMODELLED:
            raise Refused(400, {"detail": f"{collection} are not modelled by this fake AWX"})
        values = self._check_fields(collection, {**payload, **(parent or {})})
        self._validate(collection, values, None)
        if collection == "projects":
            values.update(status="successful", scm_revision="0" * 40, playbook_files=self.playbooks)  # its first update ran
        if collection == "job_templates":  # AWX takes a template's organization from its project
            values.update(organization=self.objects["projects"][values["project"]].get("organization"), survey_spec={},
                          **{relation: [] for relation in ATTACH["job_templates"]})
        return self.serialize(collection, self._store(collection, values))

    def replace(self, collection, pk, payload):
        existing = self.objects[collection][pk]
        values = self._check_fields(collection, payload, existing)
        self._validate(collection, values, existing)
        existing.update(values)
        return self.serialize(collection, existing)

    def attach(self, collection, pk, relation, payload):
        target = ATTACH[collection][relation]
        sub_id = payload.get("id")
        if not isinstance(sub_id, int) or sub_id not in self.objects[target]:
            raise Refused(400, {"msg": f"No {target} with id {sub_id!r}."})
        attached = self.objects[collection][pk][relation]
        if payload.get("disassociate"):
            attached.remove(sub_id)
            return
        if relation == "credentials":
            kind = self.objects["credentials"][sub_id]["credential_type"]
            if any(self.objects["credentials"][other]["credential_type"] == kind for other in attached if other != sub_id):
                raise Refused(400, {"error": "Cannot assign multiple credentials of the same type."})
        if sub_id not in attached:
            attached.append(sub_id)

    def set_survey(self, pk, spec):
        error = self._survey_error(spec)
        if error:
            raise Refused(400, {"error": error})
        self.objects["job_templates"][pk]["survey_spec"] = copy.deepcopy(spec)


API_ROOT = {"description": "AWX REST API", "current_version": "/api/v2/", "available_versions": {"v2": "/api/v2/"}}
# /api/v2/ of AWX 24.6 (awx/api/views/root.py): awxkit maps every key to a page class before it imports.
V2_KEYS = ["ping", "instances", "instance_groups", "receptor_addresses", "config", "settings", "me", "dashboard", "organizations", "users",
           "execution_environments", "projects", "project_updates", "teams", "credentials", "credential_types", "credential_input_sources",
           "applications", "tokens", "metrics", "inventory", "constructed_inventory", "inventory_sources", "inventory_updates", "groups",
           "hosts", "host_metrics", "host_metric_summary_monthly", "job_templates", "jobs", "ad_hoc_commands", "system_job_templates",
           "system_jobs", "schedules", "roles", "notification_templates", "notifications", "labels", "unified_job_templates",
           "unified_jobs", "activity_stream", "workflow_job_templates", "workflow_jobs", "workflow_approvals", "workflow_job_template_nodes",
           "workflow_job_nodes", "mesh_visualizer", "bulk", "analytics"]
V2_PATHS = {"inventory": "inventories", "constructed_inventory": "constructed_inventories"}
V2_ROOT = {key: f"/api/v2/{V2_PATHS.get(key, key)}/" for key in V2_KEYS}


class _Handler(BaseHTTPRequestHandler):
    """HTTP for FakeAwx: routes /api/v2/<collection>/[<id>/[<relation>/]] and answers JSON, as AWX's API does."""

    server_version = "FakeAWX/24.6"

    def log_message(self, format, *args):  # quiet
        pass

    def _answer(self, status, body=None, allow=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method):
        awx = self.server.awx
        split = urlsplit(self.path)
        payload = None
        if method in ("POST", "PUT"):
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        awx.requests.append((method, split.path, payload))
        if split.path == "/api/":
            return self._answer(200, API_ROOT)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"detail": "Authentication credentials were not provided."})
        if split.path == "/api/v2/":
            return self._answer(200, V2_ROOT)
        try:
            return self._route(awx, method, split.path, dict(parse_qsl(split.query)), payload)
        except Refused as refused:
            return self._answer(refused.status, refused.body)

    def _route(self, awx, method, path, query, payload):
        parts = path.strip("/").split("/")[2:]
        collection = parts[0] if parts else None
        if collection not in awx.objects:
            raise Refused(404, {"detail": "Not found."})
        allow = "GET, HEAD, OPTIONS" if collection == "system_job_templates" else "GET, POST, HEAD, OPTIONS"
        if len(parts) == 1:
            if method == "OPTIONS":
                return self._answer(200, {"name": collection, "actions": {"POST": SCHEMAS.get(collection, NAME)}}, allow)
            if method == "GET":
                return self._answer(200, awx.listing(collection, query))
            if method == "POST":
                return self._answer(201, awx.create(collection, payload))
        pk = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if pk not in awx.objects[collection]:
            raise Refused(404, {"detail": "Not found."})
        if len(parts) == 2:
            if method == "GET":
                return self._answer(200, awx.serialize(collection, awx.objects[collection][pk]))
            if method == "PUT":
                return self._answer(200, awx.replace(collection, pk, payload))
        relation = parts[2] if len(parts) == 3 else None
        if (collection, relation) == ("inventories", "hosts"):
            if method == "OPTIONS":
                return self._answer(200, {"name": "hosts", "actions": {"POST": SCHEMAS["hosts"]}}, "GET, POST, HEAD, OPTIONS")
            if method == "GET":
                return self._answer(200, awx.listing("hosts", query, {"inventory": pk}))
            if method == "POST":
                return self._answer(201, awx.create("hosts", payload, {"inventory": pk}))
        if (collection, relation) == ("projects", "playbooks") and method == "GET":
            return self._answer(200, awx.objects["projects"][pk]["playbook_files"])
        if (collection, relation) == ("job_templates", "survey_spec"):
            if method == "GET":
                return self._answer(200, awx.objects[collection][pk]["survey_spec"])
            if method == "POST":
                awx.set_survey(pk, payload)
                return self._answer(200)
        if relation in ATTACH.get(collection, {}):
            target = ATTACH[collection][relation]
            if method == "GET":
                ids = awx.objects[collection][pk][relation]
                rows = [awx.serialize(target, awx.objects[target][i]) for i in ids]
                return self._answer(200, {"count": len(rows), "next": None, "previous": None, "results": rows})
            if method == "POST":
                awx.attach(collection, pk, relation, payload)
                return self._answer(204)
        raise Refused(405, {"detail": f'Method "{method}" not allowed.'})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_OPTIONS(self):
        self._handle("OPTIONS")


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def playbooks():
    return project_playbooks(REPO_ROOT)


@pytest.fixture
def awx(playbooks):
    """A fresh fake AWX on 127.0.0.1 (an ephemeral port), with only its built-in credential types."""
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    server.awx = FakeAwx(playbooks)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.awx.base_url = f"http://127.0.0.1:{server.server_port}"
    yield server.awx
    server.shutdown()
    server.server_close()
    thread.join(5)


def import_file(awx, data):
    """What `awx import` does with ``data`` (awxkit/cli/custom.py, Import.handle): returns True when it reports an error.

    The CLI exits with 1 when import_assets set ``_has_error`` or raised one of awxkit's exceptions (a 400 on a survey
    spec, say); both count as a reported error here.
    """
    connection = Connection(awx.base_url)
    connection.session.trust_env = False  # no proxy from the environment: 127.0.0.1 only
    connection.login(token=TOKEN)
    v2 = Api(connection).get().available_versions.v2.get()
    try:
        v2.import_assets(copy.deepcopy(data))
    except awx_exceptions.Common as error:
        logging.getLogger(__name__).error("import_assets raised %r", error)
        return True
    return bool(getattr(v2, "_has_error", False))


def load_file():
    return json.loads(IMPORT_FILE.read_text(encoding="utf-8"))


def _natural_key_of(awx, collection, obj):
    """An object's natural key as awxkit computes it from the API (PageCache.set_page)."""
    if collection == "organizations":
        return {"name": obj["name"], "type": "organization"}
    if collection == "credential_types":
        return {"name": obj["name"], "kind": obj["kind"], "type": "credential_type"}
    key = {"name": obj["name"], "type": OBJECT_TYPE[collection]}
    if collection == "credentials":
        key["credential_type"] = _natural_key_of(awx, "credential_types", awx.objects["credential_types"][obj["credential_type"]])
    if collection != "execution_environments" and obj.get("organization") is not None:
        key["organization"] = _natural_key_of(awx, "organizations", awx.objects["organizations"][obj["organization"]])
    return key


def _by_natural_key(awx, key):
    collection = {v: k for k, v in OBJECT_TYPE.items()}[key["type"]]
    (found,) = [o for o in awx.objects[collection].values() if _natural_key_of(awx, collection, o) == key]
    return found


# ---------------------------------------------------------------------------------------------------------------------
# The tests


def test_the_file_holds_only_what_awx_accepts_and_no_secret():
    data = load_file()
    assert set(data) <= set(FILE_KEYS), "top-level keys are awxkit's EXPORTABLE_RESOURCES the fake models"
    for file_key, collection in FILE_KEYS.items():
        for asset in data.get(file_key, []):
            unknown = set(asset) - set(SCHEMAS[collection]) - {"natural_key", "related"}
            assert not unknown, f"{asset['name']}: awxkit drops fields AWX does not accept on POST: {unknown}"
            assert asset["natural_key"]["type"] == OBJECT_TYPE[collection]
    for credential in data["credentials"]:
        # No inputs at all: a re-import then keeps the keys a site entered (awxkit PUTs what the file holds).
        assert "inputs" not in credential
    for template in data["notification_templates"]:
        assert template["notification_configuration"]["password"] == ""
        assert template["notification_configuration"]["url"].startswith("https://workflow-service.example.org/")


def test_import_into_an_empty_awx_creates_everything_the_templates_name(awx):
    data = load_file()
    assert not any(awx.objects[c] for c in awx.objects if c != "credential_types"), "the fake AWX starts empty"

    assert import_file(awx, data) is False

    objects = awx.objects
    assert {c: len(objects[c]) for c in FILE_KEYS.values()} == {FILE_KEYS[k]: len(v) for k, v in data.items()}
    organization = awx.named("organizations", ORG["name"])
    credential = awx.named("credentials", "obi-hpc-provisioner-aws")
    assert objects["credential_types"][credential["credential_type"]]["name"] == "Amazon Web Services"
    assert credential["organization"] == organization["id"] and not credential.get("inputs")
    notification = awx.named("notification_templates", "obi-hpc-job-finished")
    assert notification["notification_type"] == "webhook" and notification["organization"] == organization["id"]
    project = awx.named("projects", "obi.hpc_provisioner")
    environment = awx.named("execution_environments", "obi-hpc-provisioner-ee")
    assert project["organization"] == organization["id"] and project["default_environment"] == environment["id"]
    inventory = awx.named("inventories", "localhost")
    assert inventory["organization"] == organization["id"]
    assert [h["name"] for h in objects["hosts"].values() if h["inventory"] == inventory["id"]] == ["localhost"]

    templates = {t["name"]: t for t in objects["job_templates"].values()}
    assert set(templates) == TEMPLATES
    for asset in data["job_templates"]:
        template = templates[asset["name"]]
        assert template["organization"] == organization["id"] and template["playbook"] == asset["playbook"]
        assert (template["project"], template["inventory"], template["execution_environment"]) == (
            project["id"], inventory["id"], environment["id"])
        assert template["credentials"] == [credential["id"]]
        assert template["notification_templates_success"] == [notification["id"]]
        assert template["notification_templates_error"] == [notification["id"]]
        assert template["notification_templates_started"] == []
        assert template["survey_enabled"] and template["survey_spec"] == asset["related"]["survey_spec"]
        assert template["ask_variables_on_launch"] and template["allow_simultaneous"]
        # What the file names is what was attached (natural keys as awxkit computes them from the API).
        related = asset["related"]
        assert [_by_natural_key(awx, k)["id"] for k in related["credentials"]] == template["credentials"]
        for event in ("success", "error"):
            assert [_by_natural_key(awx, k)["id"] for k in related[f"notification_templates_{event}"]] == [notification["id"]]
    assert {m for m, _path, _body in awx.requests} <= {"GET", "OPTIONS", "POST"}, "a first import only reads and creates"


def test_a_second_import_changes_nothing_and_keeps_the_credential_s_keys(awx):
    data = load_file()
    assert import_file(awx, data) is False
    credential = awx.named("credentials", "obi-hpc-provisioner-aws")
    credential["inputs"] = {"username": "entered-after-import", "password": "entered-after-import"}  # what a site does in AWX
    before = copy.deepcopy(awx.objects)

    assert import_file(awx, data) is False

    assert awx.objects == before
    assert any(method == "PUT" for method, _path, _body in awx.requests), "existing objects are PUT again"


def test_a_reimport_resets_the_webhook_password_unless_the_copy_leaves_the_notification_template_out(awx):
    data = load_file()
    assert import_file(awx, data) is False
    configuration = awx.named("notification_templates", "obi-hpc-job-finished")["notification_configuration"]
    configuration["password"] = "entered-after-import"  # what a site does in AWX

    assert import_file(awx, dict(data, notification_templates=[])) is False
    assert configuration["password"] == "entered-after-import"
    assert all(t["notification_templates_error"] for t in awx.objects["job_templates"].values())

    assert import_file(awx, data) is False
    assert awx.named("notification_templates", "obi-hpc-job-finished")["notification_configuration"]["password"] == ""


def _without(key):
    def change(data):
        data[key] = []
    return change


def _template_in_another_organization(data):
    (template,) = [t for t in data["job_templates"] if t["name"] == "hpc-delete"]
    for reference in (template["project"], template["inventory"], template["natural_key"]):
        reference["organization"] = {"name": "Elsewhere Institute", "type": "organization"}


def _survey_default_not_a_choice(data):
    (template,) = [t for t in data["job_templates"] if t["name"] == "hpc-create"]
    (tier,) = [q for q in template["related"]["survey_spec"]["spec"] if q["variable"] == "tier"]
    tier["default"] = "huge"


def _token_default_encrypted(data):
    """A copy exported from AWX: the password question's default is the placeholder, which a new spec may not hold."""
    (template,) = [t for t in data["job_templates"] if t["name"] == "hpc-job-submit"]
    (token,) = [q for q in template["related"]["survey_spec"]["spec"] if q["variable"] == "rest_token"]
    token["default"] = "$encrypted$"


@pytest.mark.parametrize("change, missing, reported", [
    (_without("organizations"), "hpc-create", "This field may not be null"),
    (_template_in_another_organization, "hpc-delete", "Job Templates must have a project assigned"),
    (_without("credentials"), None, "Could not find matching object"),
    (_without("notification_templates"), None, "Could not find matching object"),
    (_survey_default_not_a_choice, None, "Default choice must be answered from the choices listed"),
    (_token_default_encrypted, None, "$encrypted$ is a reserved keyword for password question defaults"),
], ids=["no-organization", "template-in-another-organization", "no-credential", "no-notification-template",
        "bad-survey", "encrypted-password-default"])
def test_a_broken_copy_makes_the_import_report_an_error(awx, caplog, change, missing, reported):
    data = load_file()
    change(data)
    with caplog.at_level(logging.WARNING):
        assert import_file(awx, data) is True
    assert reported in caplog.text
    if missing:
        assert missing not in {t["name"] for t in awx.objects["job_templates"].values()}


def _render(body, job):
    """A notification body as AWX renders it for a finished job (build_notification_message) and as its webhook backend
    turns it into the request's JSON (WebhookBackend.format_body: anything that is not a JSON object is sent as {})."""
    context = {"job": job, "job_friendly_name": "Job", "url": f"https://awx.example.org/#/jobs/playbook/{job['id']}",
               "job_metadata": json.dumps({"id": job["id"], "name": job["name"], "status": job["status"]}, indent=4)}
    rendered = ImmutableSandboxedEnvironment(undefined=ChainableUndefined).from_string(body).render(**context)
    sent = json.loads(rendered)
    assert isinstance(sent, dict), rendered
    return sent


def test_the_webhook_tells_job_id_template_status_and_artifacts():
    (template,) = load_file()["notification_templates"]
    created = {"operation": "create", "vlab_id": "v1", "project_id": "p1", "clusterName": "pcluster-v1-p1",
               "clusterStatus": "CREATE_REQUEST_RECEIVED", "ssh_user": "sim", "error": None}
    failed = {"operation": "delete", "vlab_id": "v1", "project_id": "p1", "clusterStatus": "DELETE_FAILED",
              "error": {"message": "Stack \"pcluster-v1-p1\" <DELETE_FAILED> & 'stuck'\nsee the events", "task": "Delete the stack"}}
    for event, job, artifacts in (("success", {"id": 7, "name": "hpc-create", "status": "successful", "failed": False}, created),
                                  ("error", {"id": 8, "name": "hpc-delete", "status": "failed", "failed": True}, failed),
                                  ("error", {"id": 9, "name": "hpc-list", "status": "error", "failed": True}, {})):
        job = dict(job, url=f"/api/v2/jobs/{job['id']}/", finished="2026-01-01T00:10:00.000000Z", artifacts=artifacts,
                   job_explanation="" if event == "success" else "Job failed", type="job")
        sent = _render(template["messages"][event]["body"], job)
        assert sent["job_id"] == job["id"] and sent["template"] == job["name"] and sent["status"] == job["status"]
        assert sent["failed"] is job["failed"] and sent["artifacts"] == artifacts and sent["job_url"] == job["url"]
    assert not FakeAwx._message_errors(template["messages"])  # AWX's own check
