"""ifplay's distilabel steps and tasks, one concept per module."""
