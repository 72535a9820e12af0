"""`python -m ifplay.training.resolve [NAME]`: print the checkpoint path `trl` should load for NAME.

For running a recipe with plain `trl` on the embedded model:
`trl dpo --config recipes/cpu/dpo.yaml --model_name_or_path "$(python -m ifplay.training.resolve)"`.
NAME defaults to the embedded model (`smollm2-135m-instruct`, converted on first use).
"""

import sys

from ifplay.embedded import EMBEDDED_MODEL
from ifplay.errors import IfplayError
from ifplay.models import resolve_model_path


def main(argv: list[str] | None = None) -> int:
    """Print the resolved path; one-line error and exit 2 for an unknown model."""
    args = sys.argv[1:] if argv is None else argv
    try:
        print(resolve_model_path(args[0] if args else EMBEDDED_MODEL))
    except IfplayError as err:
        print(f"ifplay: error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
