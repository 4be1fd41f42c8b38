"""The laptop's tools: what runs on a developer's machine and never deploys.

- the local stack (``make run``, ``storepulse stack``): moto, the resources of ``infra/stack.json``
  and the handlers, wired as in AWS (:class:`devstack.stack.LocalStack`; tests start one per
  session in ``tests/conftest.py``; ``docs/local-stack.md`` says what runs where and where the
  emulation differs from AWS);
- the ``storepulse`` command line (:mod:`devstack.cli`) and ``storepulse import``
  (:mod:`devstack.importer`);
- the simulated store (:mod:`devstack.simulator`).

The Lambda packages are built from ``backend/`` (and ``reports/``) alone; nothing in them may
import this package (``tests/infra`` checks it). The package itself imports nothing, so that a
command that needs one part does not load the others.
"""
