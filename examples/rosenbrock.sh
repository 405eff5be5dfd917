#!/bin/sh
# Example expression landscape: the Rosenbrock function, minimum at (1, 1).
# The expression is tokenised and whitelisted, never eval'd; derivatives are exact (SymPy).
set -e
plasticity landscape --expr "(1 - x)**2 + 100*(y - x**2)**2" --vars x,y --at 0.9,0.8 --minimum 1 "$@"
