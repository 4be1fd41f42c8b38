"""The local stack: moto, the resources of ``infra/stack.json`` and the handlers, wired as in AWS.

``make run`` (``storepulse stack``) runs :class:`LocalStack` in the foreground; tests start one
per session (``tests/conftest.py``). ``docs/local-stack.md`` says what runs where and where the
emulation differs from AWS.
"""

from __future__ import annotations

from backend.local.aws import AwsClients, EndpointUnavailable, MotoServer, fake_aws_environment, free_port
from backend.local.dlq import DeadLetter, list_dead_letters, replay_dead_letters
from backend.local.keys import DevKeys, load_or_create_keys
from backend.local.pollers import Activity, EventSourceMapping, SqsPoller
from backend.local.provision import Resources, lookup, provision
from backend.local.runtime import HandlerRef, LambdaContext, new_context
from backend.local.schedules import ScheduleError, ScheduleRunner, parse_schedule
from backend.local.snapshot import restore_snapshot, save_snapshot
from backend.local.spec import StackSpec, load_stack_spec
from backend.local.stack import LocalStack, QueueFunction, StackError, StackOptions

__all__ = [
    "Activity",
    "AwsClients",
    "DeadLetter",
    "DevKeys",
    "EndpointUnavailable",
    "EventSourceMapping",
    "HandlerRef",
    "LambdaContext",
    "LocalStack",
    "MotoServer",
    "QueueFunction",
    "Resources",
    "ScheduleError",
    "ScheduleRunner",
    "SqsPoller",
    "StackError",
    "StackOptions",
    "StackSpec",
    "fake_aws_environment",
    "free_port",
    "list_dead_letters",
    "load_or_create_keys",
    "load_stack_spec",
    "lookup",
    "new_context",
    "parse_schedule",
    "provision",
    "replay_dead_letters",
    "restore_snapshot",
    "save_snapshot",
]
