"""AutoIF's stages: evolve instructions, write verifiers, cross-validate them by execution, check them
by back-translation, drop near-duplicates, score sampled responses with the verifiers that survived."""
