"""``python -m plan STACK [STACK...] | --all``: write the offline plan of each stack to build/plan/STACK/.

resources.json and tree.txt (the recorded graph), access-matrix.md/.json, cost.md and deploy-time.md.

Exit status: 0 when every stack planned, 1 when a stack's configuration was rejected (the
settings error is printed), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plan import harness, reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plan", description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", help="stack names (stacks/Pulumi.<name>.yaml)")
    parser.add_argument("--all", action="store_true", help="plan every stack in stacks/")
    parser.add_argument(
        "--project-file",
        action="store_true",
        help="regenerate Pulumi.yaml and the README config reference from the settings model",
    )
    parser.add_argument("--out", type=Path, default=harness.ROOT / "build" / "plan", help="output folder")
    parser.add_argument(
        "--stacks-dir",
        type=Path,
        default=None,
        help="folder of Pulumi.<stack>.yaml files (default: Pulumi.yaml's stackConfigDir, stacks/)",
    )
    args = parser.parse_args(argv)
    if args.project_file:
        from plan.project_file import render, update_readme

        (harness.ROOT / "Pulumi.yaml").write_text(render())
        readme = harness.ROOT / "README.md"
        readme.write_text(update_readme(readme.read_text()))
        print("wrote Pulumi.yaml and the configuration reference in README.md")
        return 0
    stacks = harness.stack_names(stacks_dir=args.stacks_dir) if args.all else args.stacks
    if not stacks:
        parser.error("name a stack or pass --all")

    failed = False
    for stack in stacks:
        # Imported late so `--help` stays instant; the settings error type is the program's own.
        from components.settings import SettingsError

        try:
            plan = harness.run(stack, stacks_dir=args.stacks_dir)
        except (SettingsError, harness.StackConfigError) as err:
            print(f"error: {err}", file=sys.stderr)
            failed = True
            continue
        out = args.out / stack
        out.mkdir(parents=True, exist_ok=True)
        (out / "resources.json").write_text(plan.to_json())
        (out / "tree.txt").write_text(plan.tree())
        write_access_matrix(stack, out, args.stacks_dir)
        summaries = reports.write_reports(plan, out)  # cost.md, deploy-time.md
        print(plan.summary())
        print(summaries)
        if plan.placeholders:
            print(f"  offline placeholders (set with --secret before `pulumi up`): {', '.join(plan.placeholders)}")
        print(f"  wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}/")
    return 1 if failed else 0


def write_access_matrix(stack: str, out: Path, stacks_dir: Path | None = None) -> None:
    """access-matrix.md and .json, from the same access model the program enforces."""
    from components import access_model
    from plan import access_matrix

    settings = harness.settings_for(stack, stacks_dir=stacks_dir)
    matrix = access_matrix.build(access_model.build(settings), settings)
    (out / "access-matrix.json").write_text(access_matrix.to_json(matrix))
    (out / "access-matrix.md").write_text(access_matrix.to_markdown(matrix))


if __name__ == "__main__":
    sys.exit(main())
