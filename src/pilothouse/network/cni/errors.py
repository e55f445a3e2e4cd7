"""Errors of the CNI invoker, and the well-known error codes of the CNI specification 1.0."""

from __future__ import annotations

# Well-known plugin error codes (CNI spec 1.0, "Error"); 100+ are plugin specific.
INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODE_FAILURE = 6
INVALID_NETWORK_CONFIG = 7
TRY_AGAIN_LATER = 11


class CNIError(Exception):
    """Any failure to run a CNI operation."""


class PluginNotFound(CNIError):
    """No executable of the plugin's type in any plugin directory."""


class PluginTimeout(CNIError):
    """The plugin ran past its deadline and was killed."""


class InvalidResult(CNIError):
    """The plugin's output is not a result (or error) the specification allows."""


class InvalidConfig(CNIError):
    """The network configuration list or a runtime argument is malformed."""


class InvalidNetns(CNIError):
    """The network namespace given for an attachment is missing or is the node's own."""


class NotAttached(CNIError):
    """CHECK found no completed ADD for the attachment."""


class PluginError(CNIError):
    """A plugin reported an error on stdout, as the specification prescribes."""

    def __init__(
        self, plugin: str, command: str, code: int, msg: str, details: str = ""
    ):
        self.plugin = plugin
        self.command = command
        self.code = code
        self.msg = msg
        self.details = details
        text = f"plugin {plugin} {command} failed (code {code}): {msg}"
        super().__init__(f"{text}: {details}" if details else text)
