"""The image builder: Dockerfile frontend, solver, and the worker that does the I/O."""
