"""What the Lambda runtime gives a handler: its module, imported late, and a context object.

Handlers are imported by their dotted name from ``stack.json`` the first time they are
needed, after the stack has set the environment they read at import time. A handler that
cannot be imported fails its invocations, like Lambda's ``Runtime.ImportModuleError``.
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    """The attributes and method of Lambda's context object that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_seconds: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def new_context(
    function_name: str, *, memory: int, timeout: float, region: str, account_id: str
) -> LambdaContext:
    """A fresh context for one invocation of ``function_name``.

    Examples
    --------
    >>> ctx = new_context("api", memory=512, timeout=10, region="us-east-1", account_id="1")
    >>> ctx.invoked_function_arn
    'arn:aws:lambda:us-east-1:1:function:api'
    """
    return LambdaContext(
        function_name=function_name,
        memory_limit_in_mb=memory,
        invoked_function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{function_name}",
        aws_request_id=str(uuid.uuid4()),
        timeout_seconds=timeout,
    )


class HandlerNotFound(ImportError):
    """The handler named in ``stack.json`` cannot be imported or is not callable."""


class HandlerRef:
    """A handler named ``package.module.function``, imported on first use.

    Parameters
    ----------
    dotted
        The ``handler`` of a function in ``stack.json``.

    Examples
    --------
    >>> handler = HandlerRef("operator.add")  # nothing is imported yet
    >>> handler(2, 3)  # called as Lambda calls a handler: (event, context)
    5
    >>> HandlerRef("no.such.handler").resolve()
    Traceback (most recent call last):
    ...
    devstack.runtime.HandlerNotFound: cannot import no.such: No module named 'no'
    """

    def __init__(self, dotted: str):
        module, _, attribute = dotted.rpartition(".")
        if not module or not attribute:
            raise ValueError(f"handler {dotted!r} is not of the form package.module.function")
        self.dotted = dotted
        self._module = module
        self._attribute = attribute
        self._function: Handler | None = None
        self._failed_before = False
        self._lock = threading.Lock()

    def resolve(self) -> Handler:
        """The handler function, importing its module if needed.

        Raises
        ------
        HandlerNotFound
            Saying why, when the module does not import or lacks the function.
        """
        with self._lock:
            if self._function is None:
                if self._failed_before:
                    # A module written while the stack runs is not in the finders' cache yet.
                    importlib.invalidate_caches()
                try:
                    module = importlib.import_module(self._module)
                except ImportError as exc:
                    self._failed_before = True
                    raise HandlerNotFound(f"cannot import {self._module}: {exc}") from exc
                function = getattr(module, self._attribute, None)
                if not callable(function):
                    raise HandlerNotFound(f"{self._module} has no function {self._attribute}")
                self._function = function
            return self._function

    def __call__(self, event: Any, context: Any) -> Any:
        return self.resolve()(event, context)

    def __repr__(self) -> str:
        return f"HandlerRef({self.dotted!r})"
