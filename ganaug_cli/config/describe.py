"""Render a schema's defaults as commented YAML: the source of configs/<family>.yaml.

    python -m ganaug_cli.families gan > configs/gan.yaml
"""

import yaml
from pydantic import BaseModel


def _scalar(value) -> str:
    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def describe(schema: type[BaseModel], family: str) -> str:
    lines = [
        f"# ganaug train-{family}: every key with its default.",
        f"# Use with: ganaug train-{family} --config configs/{family}.yaml (flags and --set override it).",
    ]
    for section, field in schema.model_fields.items():
        lines.append("")
        lines.append(f"{section}:")
        for key, sub in field.annotation.model_fields.items():
            if sub.description:
                lines.append(f"  # {sub.description}")
            lines.append(f"  {key}: {_scalar(sub.default)}")
    return "\n".join(lines) + "\n"

