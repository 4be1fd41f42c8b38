"""Write the Terraform outputs the dashboard's Zappa stage needs into ``zappa_settings.json``.

    terraform -chdir=infra output -json > build/terraform-outputs.json
    python infra/scripts/zappa_settings.py build/terraform-outputs.json zappa_settings.json --stage prod

Sets, in the stage: ``s3_bucket``, ``role_name`` and ``role_arn`` with ``manage_roles: false``
(Terraform owns the role), ``aws_region`` and ``aws_environment_variables`` (the API URL, the
read key, the sign-in). Everything else of the stage (app_function, runtime, ...) is kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

OUTPUTS = {
    "s3_bucket": "zappa_s3_bucket",
    "role_name": "zappa_role_name",
    "role_arn": "zappa_role_arn",
    "aws_region": "zappa_aws_region",
    "aws_environment_variables": "zappa_environment",
}


def merge(settings: Mapping[str, Any], outputs: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """``settings`` with ``stage`` completed from ``terraform output -json``'s ``outputs``.

    Examples
    --------
    >>> out = {k: {"value": v} for k, v in [("zappa_s3_bucket", "b"), ("zappa_role_name", "r"),
    ...        ("zappa_role_arn", "arn:r"), ("zappa_aws_region", "eu-west-1"),
    ...        ("zappa_environment", {"STOREPULSE_API_URL": "https://x/api"})]}
    >>> merge({"prod": {"app_function": "dashboard.app.server"}}, out, "prod")["prod"]["role_name"]
    'r'
    """
    missing = [name for name in OUTPUTS.values() if name not in outputs]
    if missing:
        raise ValueError(f"terraform outputs lack {', '.join(missing)}; run terraform apply first")
    merged = {name: dict(value) for name, value in settings.items()}
    stage_settings = merged.setdefault(stage, {})
    for key, output in OUTPUTS.items():
        stage_settings[key] = outputs[output]["value"]
    environment = dict(stage_settings["aws_environment_variables"])
    stage_settings["aws_environment_variables"] = environment
    stage_settings["manage_roles"] = False
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outputs", type=Path, help="the JSON of `terraform output -json`")
    parser.add_argument("settings", type=Path, help="zappa_settings.json, updated in place")
    parser.add_argument("--stage", default="prod", help="the Zappa stage (dev or prod)")
    args = parser.parse_args(argv)
    try:
        outputs = json.loads(args.outputs.read_text())
        settings = json.loads(args.settings.read_text()) if args.settings.exists() else {}
        merged = merge(settings, outputs, args.stage)
    except (OSError, ValueError) as exc:
        print(f"zappa_settings: {exc}", file=sys.stderr)
        return 1
    args.settings.write_text(json.dumps(merged, indent=4) + "\n")
    print(f"zappa_settings: stage {args.stage} of {args.settings} set from the Terraform outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
