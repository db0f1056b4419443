"""Stack templates parsed outside moto's lock, and with libyaml: a CreateStack no longer holds every other request.

moto parses a template with PyYAML's pure-Python loader, under the middleware's lock (one request at a time inside
moto): for pcluster's cluster stack (a 47 KB YAML template and an 18 KB nested one) 63 ms of the 83 ms of CPU its
CreateStack took, during which every other request, of any service, waited. AWS answers other calls while it
validates a template. Here:

- CreateStack, UpdateStack and CreateChangeSet parse the template they are given (TemplateBody, or the TemplateURL's
  S3 object, read under the lock) outside the lock (``middleware.outside_moto_lock``): parsing reads and changes no
  backend, and it happens before the request's backend call, so the backend sees only what it would have seen. The
  result is handed to moto's own parse for that request only, matched by the template's exact text: if the S3
  object changed meanwhile, moto parses what it reads, as before.
- Every template (also nested stacks', parsed while their parent's resources are made, under the lock) is parsed
  with libyaml's loader (``yaml.CLoader``: 6 ms instead of 63 ms for pcluster's two), with moto's constructors for
  the short intrinsic forms (``!Ref``, ``!GetAtt``, ...). Both loaders build the same documents (same constructor
  and resolver); a document libyaml refuses goes to moto's own parse, which answers it as it always did (another
  YAML parse, then JSON).
"""

import functools
import threading

import yaml
from moto.cloudformation.models import ChangeSet, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import yaml_tag_constructor

from .. import middleware

_prepared = threading.local()  # .templates: {text: parsed template} of the request this thread serves
_stock_parse_template = Stack.parse_template  # a staticmethod, so a plain function here


class _FastLoader(getattr(yaml, "CLoader", yaml.Loader)):  # pylint: disable=too-many-ancestors
    """libyaml's loader (PyYAML's own where the wheel lacks libyaml) with moto's intrinsic-function constructor."""


_FastLoader.add_multi_constructor("", yaml_tag_constructor)


def load(template):
    """A template's document, as moto's parse_template gives it."""
    if isinstance(template, str):
        try:
            return yaml.load(template, Loader=_FastLoader)  # nosec B506  # moto's own loader is the full one too
        except yaml.YAMLError:
            pass  # moto's parse answers it: JSON that is no YAML, or the error moto raises
    return _stock_parse_template(template)


def parse_template(template):
    """moto's Stack.parse_template: the document parsed outside the lock for this request, else parsed now."""
    templates = getattr(_prepared, "templates", None)
    if templates and isinstance(template, str) and template in templates:
        return templates.pop(template)  # once: moto may change the document it is given
    return load(template)


def _change_set_parse_template(self):
    self.template_dict = parse_template(self.template)


def _template_text(response):
    """The template a CreateStack, UpdateStack or CreateChangeSet names, as moto will read it, or None."""
    text = response._get_param("TemplateBody")  # pylint: disable=protected-access
    url = response._get_param("TemplateURL")  # pylint: disable=protected-access
    if not text and url:
        try:
            text = response._get_stack_from_s3_url(url)  # pylint: disable=protected-access  # under the lock: reads S3
        except Exception:  # pylint: disable=broad-exception-caught  # moto's own call answers a bad URL
            return None
    return text if isinstance(text, str) and text else None


def _parsing_outside_the_lock(stock):
    @functools.wraps(stock)
    def response(self):
        text = _template_text(self)
        if text is not None:
            with middleware.outside_moto_lock():
                try:
                    parsed = load(text)
                except Exception:  # pylint: disable=broad-exception-caught  # moto's own parse raises it, as before
                    parsed = None
            if parsed is not None:
                _prepared.templates = {text: parsed}
        try:
            return stock(self)
        finally:
            _prepared.templates = None

    return response


def install():
    Stack.parse_template = staticmethod(parse_template)
    ChangeSet._parse_template = _change_set_parse_template  # pylint: disable=protected-access
    for name in ("create_stack", "update_stack", "create_change_set"):
        setattr(CloudFormationResponse, name, _parsing_outside_the_lock(getattr(CloudFormationResponse, name)))
