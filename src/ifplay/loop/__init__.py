"""The self-play loop: `config` (the loop YAML), `manifest` (stage records), `runner` (stages)."""
