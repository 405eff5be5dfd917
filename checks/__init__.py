"""Property-based verification of the optimal-plasticity claims, and the `plasticity` command."""
