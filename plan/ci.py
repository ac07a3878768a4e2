"""What the GitHub workflows need to know about the stacks, read from the stack files.

``python -m plan.ci matrix``          every stack as a JSON list (the preview/drift matrix)
``python -m plan.ci info``            the same keyed by stack name
``python -m plan.ci waves``           the stacks grouped by environment, ``{"dev": [...], "staging": [...],
                                      "prod": [...]}``: the deploy workflow's three waves
``python -m plan.ci outputs STACK``   one stack as ``key=value`` lines for ``$GITHUB_OUTPUT``
``python -m plan.ci destroy-guard STACK [--state EXPORT.json]``
                                      exit 1, saying why, unless STACK may be destroyed

AWS roles are found by convention in the stack's own account: ``github-actions-preview`` (read-only,
trusted for pull requests) and ``github-actions-deployer`` (trusted only for jobs running in the
GitHub environment named after the stack, and listed in ``airflow-mesh:adminRoleArns``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from components.settings.regions import partition_of
from plan import harness

PREVIEW_ROLE = "github-actions-preview"
DEPLOY_ROLE = "github-actions-deployer"
HOSTED_RUNNER = "ubuntu-24.04"


ENVIRONMENTS = ("dev", "staging", "prod")  # promotion order: deploys and rotations run dev first, prod last


def stack_info(stack: str, root: Path = harness.ROOT, stacks_dir: Path | None = None) -> dict[str, Any]:
    """Environment, account, region, roles and runner of ``stack`` (from its stack file and defaults)."""
    config, _, _ = harness.stack_config(stack, root=root, stacks_dir=stacks_dir)
    project = harness.pulumi_project(root)
    account = config[f"{project}:awsAccountId"]
    private = config.get(f"{project}:endpointAccess", "private") == "private"
    region = config.get("aws:region", "us-east-1")
    part = partition_of(region)
    return {
        "stack": stack,
        "environment": config[f"{project}:environment"],
        "account": account,
        "region": region,
        # GitHub's OIDC audience stays sts.amazonaws.com; the role lives in the region's partition.
        "preview_role": part.arn("iam", f"role/{PREVIEW_ROLE}", account=account),
        "deploy_role": part.arn("iam", f"role/{DEPLOY_ROLE}", account=account),
        # A private EKS endpoint is reachable only from inside the VPC: such stacks run on a
        # self-hosted runner there, labelled after the stack.
        "runs_on": ["self-hosted", "linux", f"{project}-{stack}"] if private else HOSTED_RUNNER,
    }


def all_stacks(root: Path = harness.ROOT, stacks_dir: Path | None = None) -> list[dict[str, Any]]:
    """``stack_info`` of every stack, in promotion order (environment, then name)."""
    infos = [stack_info(s, root, stacks_dir) for s in harness.stack_names(root, stacks_dir)]
    return sorted(infos, key=lambda i: (ENVIRONMENTS.index(i["environment"]), i["stack"]))


def waves(root: Path = harness.ROOT, stacks_dir: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """The stacks grouped by environment class, every class present (possibly empty): the deploy
    workflow runs one matrix job per class, each wave after the one before."""
    infos = all_stacks(root, stacks_dir)
    return {env: [i for i in infos if i["environment"] == env] for env in ENVIRONMENTS}


def destroy_refusals(
    stack: str, state: dict[str, Any] | None = None, root: Path = harness.ROOT, stacks_dir: Path | None = None
) -> list[str]:
    """Every reason ``stack`` must not be destroyed by a workflow (empty: it may be)."""
    reasons = []
    if "prod" in re.split(r"[^a-z0-9]+", stack.lower()):
        reasons.append(f"{stack}: prod stacks are never destroyed by a workflow (by name)")
    try:
        info = stack_info(stack, root, stacks_dir)
    except harness.StackConfigError as err:
        return [*reasons, str(err)]
    if info["environment"] == "prod":
        reasons.append(f"{stack}: its stack file says environment=prod")
    protected = [
        r["name"] for r in harness.run(stack, root=root, stacks_dir=stacks_dir).resources if r["options"].get("protect")
    ]
    if protected:
        reasons.append(
            f"{stack}: the program protects {len(protected)} resources here, e.g. {', '.join(protected[:3])}"
        )
    if state is not None:
        deployed = [r["urn"] for r in (state.get("deployment") or {}).get("resources") or [] if r.get("protect")]
        if deployed:
            reasons.append(f"{stack}: the deployed state has {len(deployed)} protected resources, e.g. {deployed[0]}")
    return reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plan.ci", description=__doc__.splitlines()[0])
    parser.add_argument("--stacks-dir", type=Path, default=None, help="folder of stack files (default: stacks/)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("matrix", help="every stack, as a JSON list")
    sub.add_parser("info", help="every stack, as a JSON object keyed by stack name")
    sub.add_parser("waves", help="every stack grouped by environment (dev, staging, prod), as JSON")
    outputs = sub.add_parser("outputs", help="one stack as key=value lines for $GITHUB_OUTPUT")
    outputs.add_argument("stack")
    guard = sub.add_parser("destroy-guard", help="exit 1 unless the stack may be destroyed")
    guard.add_argument("stack")
    guard.add_argument("--state", type=Path, help="output of `pulumi stack export` for the deployed stack")
    args = parser.parse_args(argv)

    if args.command in ("matrix", "info", "waves"):
        infos = all_stacks(stacks_dir=args.stacks_dir)
        by_env = {env: [i for i in infos if i["environment"] == env] for env in ENVIRONMENTS}
        shaped = {"matrix": infos, "info": {i["stack"]: i for i in infos}, "waves": by_env}[args.command]
        print(json.dumps(shaped, separators=(",", ":")))
        return 0
    if args.command == "outputs":
        for key, value in stack_info(args.stack, stacks_dir=args.stacks_dir).items():
            # runs_on is JSON either way (a label or a list of labels): the workflow reads it with fromJSON
            print(f"{key}={json.dumps(value) if key == 'runs_on' else value}")
        return 0
    state = json.loads(args.state.read_text()) if args.state else None
    reasons = destroy_refusals(args.stack, state, stacks_dir=args.stacks_dir)
    for reason in reasons:
        print(f"refusing to destroy: {reason}", file=sys.stderr)
    if not reasons:
        print(f"{args.stack} may be destroyed: not prod by name or environment, nothing protected")
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
