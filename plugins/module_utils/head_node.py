# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SSH and SFTP to a cluster's head node as the sim user, with paramiko (no ssh binary, no known_hosts file).

The host key is never trusted on first use: the caller gives the key the head node published at boot (role
node_bootstrap, tasks_from host_key) and any other key is refused (paramiko's RejectPolicy with that one key known).
The private key stays in memory: it is parsed from the secret's text and never written to a file.
"""

import base64
import io
import shlex
import socket

try:
    import paramiko
except ImportError:  # the modules report it with missing_required_lib
    paramiko = None

PRIVATE_KEY_TYPES = ("Ed25519Key", "ECDSAKey", "RSAKey")


class HeadNodeError(Exception):
    """A failure talking to the head node; ``field`` is the option to look at."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def private_key(text):
    """The paramiko key of an OpenSSH or PEM private key text (what EC2 returns for a new key pair)."""
    for name in PRIVATE_KEY_TYPES:
        try:
            return getattr(paramiko, name).from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise HeadNodeError("private_key_secret", "the secret does not hold an ED25519, ECDSA or RSA private key")


def host_key(line):
    """The paramiko key of an OpenSSH public key line (``ssh-ed25519 AAAA... [comment]``)."""
    fields = (line or "").split()
    try:
        return paramiko.PKey.from_type_string(fields[0], base64.b64decode(fields[1], validate=True))
    except (IndexError, ValueError, paramiko.SSHException) as error:
        raise HeadNodeError("host_key", f"not an OpenSSH public key line ({error.__class__.__name__})") from None


def known_host_name(host, port):
    """The name OpenSSH and paramiko file a host key under: ``host``, or ``[host]:port`` off port 22."""
    return host if port == 22 else f"[{host}]:{port}"


class HeadNode:
    """One SSH connection to the head node; a context manager."""

    def __init__(self, host, port, user, key, published_host_key, timeout=15):
        self.host, self.port, self.user, self.timeout = host, port, user, timeout
        self._key = key
        self._host_key = published_host_key
        self._client = None
        self._sftp = None

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        client = paramiko.SSHClient()
        client.get_host_keys().add(known_host_name(self.host, self.port), self._host_key.get_name(), self._host_key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        where = f"{self.user}@{self.host}:{self.port}"
        try:
            client.connect(self.host, port=self.port, username=self.user, pkey=self._key, timeout=self.timeout,
                           banner_timeout=self.timeout, auth_timeout=self.timeout, allow_agent=False,
                           look_for_keys=False)
        except paramiko.BadHostKeyException:
            client.close()
            raise HeadNodeError("host_key", f"{where} presented a host key other than the one the head node published:"
                                " refused (a replaced head node, or not the head node)") from None
        except paramiko.AuthenticationException:
            client.close()
            raise HeadNodeError("private_key_secret", f"{where} refused the sim key") from None
        except (OSError, socket.timeout, paramiko.SSHException) as error:
            client.close()
            raise HeadNodeError("head_node_host", f"cannot reach the head node at {where}: {error}") from None
        self._client = client

    def close(self):
        if self._sftp is not None:
            self._sftp.close()
        if self._client is not None:
            self._client.close()
        self._client = self._sftp = None

    def run(self, argv, stdin=None, timeout=60):
        """(exit status, stdout, stderr) of ``argv`` run on the head node (quoted: no shell expansion of arguments)."""
        command = " ".join(shlex.quote(str(arg)) for arg in argv)
        return self.shell(command, stdin=stdin, timeout=timeout)

    def shell(self, command, stdin=None, timeout=60):
        """(exit status, stdout, stderr) of a shell command line the caller has quoted."""
        try:
            channel_in, channel_out, channel_err = self._client.exec_command(command, timeout=timeout)
            if stdin is not None:
                channel_in.write(stdin)
            channel_in.channel.shutdown_write()
            out = channel_out.read().decode("utf-8", "replace")
            err = channel_err.read().decode("utf-8", "replace")
            return channel_out.channel.recv_exit_status(), out, err
        except (OSError, socket.timeout, paramiko.SSHException) as error:
            raise HeadNodeError("head_node_host", f"the head node stopped answering ({argv0(command)}): {error}") \
                from None

    def sftp(self):
        if self._sftp is None:
            self._sftp = self._client.open_sftp()
        return self._sftp


def argv0(command):
    return command.split(" ", 1)[0]
