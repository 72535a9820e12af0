"""SPaR's stages: constraint-rich prompts, the judge (critique + majority verdict), tree-search
refinement of rejected answers."""
